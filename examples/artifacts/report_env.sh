#!/bin/sh
# Demo artifact for the toscassh engine, whose args arrive as environment variables:
# args ["GREETING=hello"] print `message=hello from <host>`.
echo "message=${GREETING:-hi} from $(hostname)"
