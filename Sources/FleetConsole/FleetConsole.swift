// The console library: model, renderer and views of fleet-tui.
