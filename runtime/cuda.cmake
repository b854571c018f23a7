# The CUDA backend of rt (cuBLASLt + NCCL), compiled only with LLMCAL_WITH_CUDA.
# -arch from CMAKE_CUDA_ARCHITECTURES (80;90 by default, top CMakeLists.txt).
if(LLMCAL_WITH_CUDA)
  target_sources(rt PRIVATE
    src/cuda/backend.c
    src/cuda/gemm.cu
    src/cuda/attention.cu
    src/cuda/attention_tc.cu
    src/cuda/norm.cu
    src/cuda/elementwise.cu
    src/cuda/optimizer.cu)
  # arithmetic-only kernels round as the CPU reference does: no fused multiply-add contraction
  set_source_files_properties(src/cuda/elementwise.cu src/cuda/norm.cu src/cuda/optimizer.cu
    PROPERTIES COMPILE_OPTIONS "-fmad=false")
  target_compile_definitions(rt PUBLIC LLMCAL_WITH_CUDA)
  target_link_libraries(rt PUBLIC CUDA::cudart CUDA::cublasLt NCCL::nccl)
  set_target_properties(rt PROPERTIES CUDA_SEPARABLE_COMPILATION OFF)
endif()
