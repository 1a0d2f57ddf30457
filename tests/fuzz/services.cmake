pushgate_add_fuzzer(services LIBS pushgate_adapter_zkpush pushgate_sync pushgate_rules_access
                                  pushgate_rules_linkage pushgate_core)
