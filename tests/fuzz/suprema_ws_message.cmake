if(TARGET pushgate_suprema_protocol)  # absent with -DPUSHGATE_ADAPTER_SUPREMA=OFF
  pushgate_add_fuzzer(suprema_ws_message LIBS pushgate_suprema_protocol)
endif()
