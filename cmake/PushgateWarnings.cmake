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

# Linking is about a quarter of a build's CPU time (some 80 test programs,
# each with Boost, OpenSSL and full debug info); mold does it in about a
# third of the CPU time of GNU ld. Used when it is installed and the
# compiler driver accepts it; the Debian package keeps the distribution's
# linker.
if(PUSHGATE_MOLD)
  include(CheckLinkerFlag)
  find_program(PUSHGATE_MOLD_PROGRAM mold)
  if(PUSHGATE_MOLD_PROGRAM)
    check_linker_flag(CXX -fuse-ld=mold PUSHGATE_HAVE_MOLD)
  endif()
  if(PUSHGATE_HAVE_MOLD)
    add_link_options(-fuse-ld=mold)
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
