# the bf16 tensor-core flash attention against the CPU reference and the fp32-FMA kernels
# (label gpu: exit 77 without a device)
if(LLMCAL_WITH_CUDA)
  llmcal_add_test(NAME test_rt_attention SOURCES test_rt_attention.c LIBS rt CUDA::cudart
                  LABELS gpu)
  target_include_directories(test_rt_attention PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src)
endif()
