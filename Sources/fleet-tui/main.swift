print("fleet-tui: not built yet")
