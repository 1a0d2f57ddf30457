# Every dependency comes from Debian 12's archive (packaging/install-deps.sh).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(date REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)

# Boost.Asio/Beast are header-only; these keep every translation unit on the
# same configuration (no deprecated names, separate compilation off).
add_library(pushgate_boost INTERFACE)
target_link_libraries(pushgate_boost INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(pushgate_boost INTERFACE
  BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW BOOST_ASIO_DISABLE_BOOST_COROUTINE)
