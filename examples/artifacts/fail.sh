#!/bin/sh
# Demo artifact that fails, to show how a failure marks descendants notrunnable.
echo "something went wrong" >&2
exit 3
