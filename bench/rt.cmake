# bench_rt_kernels: the runtime's bf16 GEMM and flash attention on one GPU (only with CUDA), one
# JSON line per case, to lay beside torch.matmul / F.scaled_dot_product_attention.
if(LLMCAL_WITH_CUDA)
  add_executable(bench_rt_kernels ${CMAKE_CURRENT_SOURCE_DIR}/bench_rt_kernels.c)
  target_include_directories(bench_rt_kernels PRIVATE ${PROJECT_SOURCE_DIR}/runtime/src)
  target_link_libraries(bench_rt_kernels PRIVATE rt CUDA::cudart llmcal_flags)
endif()
