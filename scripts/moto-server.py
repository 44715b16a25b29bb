"""A local moto server for the tests and the demo.

Prints the port it listens on (a free one on 127.0.0.1), then serves until its standard input
closes, so it can never outlive the process that started it.

moto runs with the stand-in of scripts/standin/ in it: where moto 5.2.5 is lax or out of date
(modern SageMaker instance types, shadow variants, tags on Application Auto Scaling targets,
scheduled actions outliving their target), the answers follow AWS instead; scripts/standin/
says what and on which AWS documentation. Everything else is moto's.
"""
import sys

import standin

server = standin.serve(ip_address="127.0.0.1", port=0)
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
