"""A local moto server for the tests and the demo.

Prints the port it listens on (a free one on 127.0.0.1), then serves until its standard input
closes, so it can never outlive the process that started it.
"""
import sys

from moto.server import ThreadedMotoServer

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
