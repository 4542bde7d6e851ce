#!/usr/bin/env bash
# A throwaway Ceph RADOS Gateway on loopback for the S3 test suites: one monitor, one in-memory
# (memstore) OSD and radosgw, from Debian's packages (radosgw ceph-mon ceph-osd ceph-common).
# Unlike s3rver it implements multipart uploads and rejects a wrong Content-MD5 (BadDigest).
#
#   scripts/radosgw.sh start   # starts it unless it already answers; prints the TEST_S3_URL to use
#   scripts/radosgw.sh stop    # stops it and removes its directory
#
# Settings (environment): RADOSGW_DIR (default /tmp/imagegram-radosgw), RADOSGW_PORT (17480),
# RADOSGW_MON_PORT (16789). Nothing is kept: the OSD stores objects in memory.
set -euo pipefail

dir="${RADOSGW_DIR:-/tmp/imagegram-radosgw}"
port="${RADOSGW_PORT:-17480}"
mon_port="${RADOSGW_MON_PORT:-16789}"
access_key=imagegram
secret_key=imagegram-secret
url="http://${access_key}:${secret_key}@127.0.0.1:${port}"

# A TCP connect through bash itself: no curl needed on a bare machine.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; }

stop() {
  for pidfile in "$dir"/run/*.pid; do
    [ -e "$pidfile" ] && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  done
  rm -rf "$dir"
}

start() {
  if answers; then echo "$url"; return; fi
  for tool in ceph-mon ceph-osd radosgw radosgw-admin ceph-authtool monmaptool ceph; do
    command -v "$tool" >/dev/null || { echo "radosgw.sh: $tool not found (apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd ceph-common)" >&2; exit 1; }
  done
  stop
  mkdir -p "$dir"/mon.a "$dir"/osd.0 "$dir"/run "$dir"/log "$dir"/rgw
  local fsid conf="$dir/ceph.conf"
  fsid="$(cat /proc/sys/kernel/random/uuid)"
  cat > "$conf" <<EOF
[global]
fsid = $fsid
mon host = v1:127.0.0.1:$mon_port
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
mon data = $dir/\$name
osd data = $dir/\$name
osd objectstore = memstore
memstore device bytes = 4294967296
ms bind ipv6 = false
client mount timeout = 30
rados mon op timeout = 30
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
EOF
  # cephx with one keyring for every daemon: radosgw cannot authenticate with auth "none".
  ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' >/dev/null
  ceph-authtool "$dir/keyring" --gen-key -n client.rgw --cap mon 'allow rw' --cap osd 'allow rwx' >/dev/null
  monmaptool --create --addv a "[v1:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
  ceph-mon -c "$conf" -i a
  timeout 60 ceph -c "$conf" osd create >/dev/null
  ceph-osd -c "$conf" -i 0 --mkfs >"$dir/log/osd-mkfs.out" 2>&1
  ceph-osd -c "$conf" -i 0 2>>"$dir/log/osd-mkfs.out"
  radosgw -c "$conf" -n client.rgw
  for _ in $(seq 1 240); do answers && break; sleep 0.5; done
  answers || { echo "radosgw.sh: radosgw did not answer on 127.0.0.1:$port; logs in $dir/log" >&2; exit 1; }
  timeout 60 radosgw-admin -c "$conf" user create --uid="$access_key" --display-name=imagegram \
    --access-key="$access_key" --secret-key="$secret_key" >/dev/null
  echo "$url"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
