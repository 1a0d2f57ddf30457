# One place for the warning set and sanitizer flags every pushgate target uses.
add_library(pushgate_warnings INTERFACE)
target_compile_options(pushgate_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
if(PUSHGATE_WERROR)
  target_compile_options(pushgate_warnings INTERFACE -Werror)
endif()

if(PUSHGATE_COMPRESS_DEBUG)
  include(CheckCXXCompilerFlag)
  include(CheckLinkerFlag)
  check_cxx_compiler_flag(-gz=zlib PUSHGATE_HAVE_GZ_COMPILE)
  check_linker_flag(CXX -gz=zlib PUSHGATE_HAVE_GZ_LINK)
  if(PUSHGATE_HAVE_GZ_COMPILE AND PUSHGATE_HAVE_GZ_LINK)
    add_compile_options(-gz=zlib)
    add_link_options(-gz=zlib)
  endif()
endif()

if(PUSHGATE_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # A position-independent test program carries ~100 MB of dynamic
  # relocations for the sanitizers' metadata; each of the ~60 is a third
  # smaller linked at a fixed address, which ASan supports as well.
  add_link_options(-no-pie)
endif()

# libFuzzer builds instrument every library the fuzz targets link (coverage
# and ASan in the parsers themselves, not only in the fuzz entry points).
if(PUSHGATE_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
