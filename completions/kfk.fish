complete --keep-order --exclusive --command kfk --arguments "(COMPLETE=fish kfk -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
