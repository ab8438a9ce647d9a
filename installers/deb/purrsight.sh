#!/bin/sh
# /usr/bin/purrsight: run the bundled app from its install folder. The owner's data lives in
# ${XDG_DATA_HOME:-~/.local/share}/purrsight (or --data-dir), never under /opt/purrsight.
exec /opt/purrsight/purrsight "$@"
