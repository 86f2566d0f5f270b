# Shell helpers shared by scripts/demo.sh, scripts/kafka-broker.sh and
# bench/run.sh.  Source it; it defines functions only.

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Exit status 0 when PORT on 127.0.0.1 cannot be bound (something holds it).
port_taken() {
  python3 -c 'import socket,sys
s=socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$1"
}
