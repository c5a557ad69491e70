#!/bin/sh
# Demo artifact: pretends to install a package on a host; args like `port=8080 ip=10.0.0.7`
# (an `ip=get_attribute vm:ip` arg arrives already resolved by the orchestrator).
echo "installing with: $*"
sleep 1
echo "url=http://$(printf '%s\n' "$@" | sed -n 's/^ip=//p'):$(printf '%s\n' "$@" | sed -n 's/^port=//p')/"
