# dptrain_warnings: an INTERFACE target that every host target links, so the
# warning policy lives in one place instead of in global flags.
add_library(dptrain_warnings INTERFACE)
target_compile_options(dptrain_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
    $<$<BOOL:${DPTRAIN_WERROR}>:-Werror>>)

# dptrain_kernel_flags: for kernels/ only. -fno-math-errno lets the compiler vectorise
# sqrt/exp loops (errno is never read); it does not reassociate or change any result.
add_library(dptrain_kernel_flags INTERFACE)
target_compile_options(dptrain_kernel_flags INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-fno-math-errno>)
