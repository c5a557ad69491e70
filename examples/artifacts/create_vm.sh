#!/bin/sh
# Demo artifact: pretends to create a VM and reports its address as the output `ip`.
# Usage (shell engine): create_vm.sh [name=NAME]; declare "output": {"ip": ""} on the node.
name=vm
for arg in "$@"; do
  case "$arg" in
    name=*) name="${arg#name=}" ;;
  esac
done
echo "creating $name ..."
sleep 1
echo "ip=10.0.0.$(( $$ % 250 + 2 ))"
