# The CUDA backend of rt (cuBLAS + NCCL), compiled only with LLMCAL_WITH_CUDA.
if(LLMCAL_WITH_CUDA)
  target_sources(rt PRIVATE src/cuda/ops.cu src/cuda/backend.c)
  target_compile_definitions(rt PUBLIC LLMCAL_WITH_CUDA)
  target_link_libraries(rt PUBLIC CUDA::cudart CUDA::cublas CUDA::cublasLt NCCL::nccl)
  set_target_properties(rt PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
endif()
