from jsocdesk.cli import main

raise SystemExit(main())
