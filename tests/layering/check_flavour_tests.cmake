cmake_minimum_required(VERSION 3.25)
# Fails when code outside adapters/zkpush/ decides by a zkpush flavour string
# (`flavour == "access"`, `"attendance" != t.flavour`, SQL `flavour = 'access'`):
# the core and the other adapters read TerminalRecord's vendor-neutral
# capabilities instead (issue 14; gateway/terminals.hpp DeviceCapabilities).
# Copying the field, or comparing two records' flavours, is not a decision
# and is not flagged.
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/gateway/*.cpp ${SOURCE_DIR}/gateway/*.hpp ${SOURCE_DIR}/gateway/*.sql
     ${SOURCE_DIR}/rules/*.cpp ${SOURCE_DIR}/rules/*.hpp
     ${SOURCE_DIR}/adapters/*.cpp ${SOURCE_DIR}/adapters/*.hpp)
set(cpp "\"[^\"]*\"")
set(sql "'[^']*'")
set(pattern
    "flavour[ \t]*(==|!=)[ \t]*${cpp}|${cpp}[ \t]*(==|!=)[ \t]*[A-Za-z_.>()-]*flavour|flavour[ \t]*(=|==|!=|<>)[ \t]*${sql}|${sql}[ \t]*(=|==|!=|<>)[ \t]*[A-Za-z_.]*flavour|flavour[ \t]+(NOT[ \t]+)?IN[ \t]*\\(")
set(failed FALSE)
foreach(f ${sources})
  if(f MATCHES "^adapters/zkpush/" OR f MATCHES "^gateway/store/migrations/")
    continue()  # zkpush owns its flavours; migrations translate old rows once
  endif()
  file(STRINGS ${SOURCE_DIR}/${f} hits REGEX "${pattern}")
  foreach(h ${hits})
    string(STRIP "${h}" h)
    message(SEND_ERROR "${f}: decides by a zkpush flavour: ${h}\n"
                       "  read TerminalRecord::capabilities (gateway/terminals.hpp) instead")
    set(failed TRUE)
  endforeach()
endforeach()
