"""An example back-office plugin for kkt-bridge: copy it to start your own."""
