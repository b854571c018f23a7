# profiles: schema, Hugging Face config.json, built-in files, parameter counts, units, names.
llmcal_add_test(NAME test_prof_params SOURCES test_prof_params.c LIBS prof est LABELS unit)
llmcal_add_test(NAME test_prof_schema SOURCES test_prof_schema.c LIBS prof est LABELS unit)
llmcal_add_test(NAME test_prof_hf SOURCES test_prof_hf.c LIBS prof est LABELS unit)
llmcal_add_test(NAME test_prof_hw SOURCES test_prof_hw.c LIBS prof est LABELS unit)
