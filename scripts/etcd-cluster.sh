#!/usr/bin/env bash
# Runs a 3-member etcd cluster on loopback ports, in the foreground, for
# development and tests (the etcd store's tests start it through this script).
#
#   scripts/etcd-cluster.sh [--dir DIR] [--ports C1,C2,C3,P1,P2,P3] [--tls CERTDIR]
#                           [--watch-pid PID] [-- EXTRA ETCD FLAGS...]
#
# --dir        data folder (default: a new temporary folder, removed on exit)
# --ports      client ports, then peer ports (default: six free ports)
# --tls CERTDIR  clients must speak TLS with a client certificate: CERTDIR holds
#              ca.pem, server.pem, server-key.pem (for 127.0.0.1) and
#              client.pem, client-key.pem; made there (a throw-away CA) when
#              ca.pem is absent. Then:
#              berth server --store etcd://... --etcd-ca CERTDIR/ca.pem
#                --etcd-cert CERTDIR/client.pem --etcd-key CERTDIR/client-key.pem
# --watch-pid  stop when that process ends (a test that crashed)
# after --     flags for every member (--max-request-bytes=..., --max-txn-ops=...)
#
# Prints "etcd-cluster: ready ENDPOINTS DIR" (comma-separated host:port) once every
# member answers, then runs until SIGINT/SIGTERM, when it stops the members and
# removes a data folder it made. Use the endpoints with berth:
#   berth server --store etcd://ENDPOINTS
set -euo pipefail

dir=""
ports=""
tls=""
watch_pid=""
extra=()
while (($#)); do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --ports) ports=$2; shift 2 ;;
    --tls) tls=$2; shift 2 ;;
    --watch-pid) watch_pid=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "etcd-cluster: unknown argument $1" >&2; exit 2 ;;
  esac
done

for tool in etcd etcdctl python3 openssl; do
  command -v "$tool" >/dev/null || { echo "etcd-cluster: $tool not found (run scripts/setup.sh)" >&2; exit 1; }
done

made_dir=""
if [[ -z $dir ]]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/berth-etcd-XXXXXX")
  made_dir=$dir
fi
mkdir -p "$dir"

if [[ -z $ports ]]; then
  # Six ports the kernel reports free, all bound at once so that none repeats.
  ports=$(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(",".join(str(s.getsockname()[1]) for s in socks))')
fi
IFS=, read -r -a port <<<"$ports"
if ((${#port[@]} != 6)); then
  echo "etcd-cluster: --ports wants six ports (three client, three peer)" >&2
  exit 2
fi

# A CA, a certificate for the members (127.0.0.1, also used as a client by
# etcd's own gateway) and one for clients, valid for a week.
make_certs() {
  local d=$1
  mkdir -p "$d"
  local key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  openssl req -x509 "${key[@]}" -keyout "$d/ca-key.pem" -out "$d/ca.pem" -days 7 \
    -subj /CN=berth-etcd-test-ca 2>/dev/null
  local name usage
  for name in server client; do
    usage=clientAuth
    [[ $name == server ]] && usage=serverAuth,clientAuth
    openssl req "${key[@]}" -keyout "$d/$name-key.pem" -out "$d/$name.csr" \
      -subj "/CN=berth-etcd-$name" 2>/dev/null
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
      -CAcreateserial -days 7 -out "$d/$name.pem" \
      -extfile <(printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=%s\n' "$usage") \
      2>/dev/null
    rm -f "$d/$name.csr"
  done
}

scheme=http
client_tls=()
ctl_tls=()
if [[ -n $tls ]]; then
  [[ -f $tls/ca.pem ]] || make_certs "$tls"
  scheme=https
  client_tls=(--cert-file "$tls/server.pem" --key-file "$tls/server-key.pem"
    --trusted-ca-file "$tls/ca.pem" --client-cert-auth)
  ctl_tls=(--cacert "$tls/ca.pem" --cert "$tls/client.pem" --key "$tls/client-key.pem")
fi

initial=""
endpoints=""
for i in 0 1 2; do
  initial+="${initial:+,}m$i=http://127.0.0.1:${port[$((i + 3))]}"
  endpoints+="${endpoints:+,}127.0.0.1:${port[$i]}"
done

pids=()
stop() {
  trap - EXIT INT TERM
  set +e
  exec 2>/dev/null  # no "Killed" notices for members killed below
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # The last member standing may take long to stop (it has lost its quorum
  # and waits for it); one still there after 2 s is killed, which etcd's
  # write-ahead log is made for.
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  if [[ -n $made_dir ]]; then rm -rf "$made_dir"; fi
}
trap stop EXIT
trap 'exit 0' INT TERM

for i in 0 1 2; do
  etcd --name "m$i" --data-dir "$dir/m$i" \
    --listen-client-urls "$scheme://127.0.0.1:${port[$i]}" \
    --advertise-client-urls "$scheme://127.0.0.1:${port[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${port[$((i + 3))]}" \
    --initial-advertise-peer-urls "http://127.0.0.1:${port[$((i + 3))]}" \
    --initial-cluster "$initial" --initial-cluster-state new \
    --initial-cluster-token "berth-$$" \
    "${client_tls[@]}" "${extra[@]}" >"$dir/m$i.log" 2>&1 &
  pids+=($!)
  echo $! >"$dir/m$i.pid"
done

ready=""
for _ in $(seq 1 100); do
  if etcdctl --endpoints "$endpoints" "${ctl_tls[@]}" --command-timeout=2s \
    endpoint health >/dev/null 2>&1; then
    ready=1
    break
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "etcd-cluster: a member exited; its logs:" >&2
      tail -n 20 "$dir"/m*.log >&2
      exit 1
    fi
  done
  sleep 0.2
done
if [[ -z $ready ]]; then
  echo "etcd-cluster: not healthy after 20 s; logs in $dir" >&2
  tail -n 20 "$dir"/m*.log >&2
  exit 1
fi
echo "etcd-cluster: ready $endpoints $dir"

# Runs until a signal or the watched process ends. A member that stops is
# left stopped: tests stop one (its pid is in DIR/mN.pid) to see failover.
while :; do
  if [[ -n $watch_pid ]] && ! kill -0 "$watch_pid" 2>/dev/null; then exit 0; fi
  sleep 0.5 &
  wait $! || true
done
