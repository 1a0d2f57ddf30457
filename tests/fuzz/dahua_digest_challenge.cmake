if(TARGET pushgate_dahua_protocol)  # absent with -DPUSHGATE_ADAPTER_DAHUA=OFF
  pushgate_add_fuzzer(dahua_digest_challenge LIBS pushgate_dahua_protocol)
endif()
