if(TARGET pushgate_dahua_protocol)  # absent with -DPUSHGATE_ADAPTER_DAHUA=OFF
  pushgate_add_fuzzer(dahua_multipart LIBS pushgate_dahua_protocol)
endif()
