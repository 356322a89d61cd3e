#!/usr/bin/env bash
# cflive-server's API end to end with curl on 127.0.0.1: every endpoint,
# every error case (status, error code, envelope), refused requests change
# nothing, the limits, and the state after a restart and after SIGKILL.
#
#   server_api.sh PATH-TO-cflive-server
set -uo pipefail

SERVER=${1:?usage: server_api.sh PATH-TO-cflive-server}
WORK=$(mktemp -d /tmp/cflive-server-api.XXXXXX)
PID=
FAILS=0
CHECKS=0

cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -KILL "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
free_udp_port() {
  python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

API_PORT=$(free_port)
RTMP_PORT=$(free_port)
SRT_PORT=$(free_udp_port)
ACCOUNT=0123456789abcdef0123456789abcdef
TOKEN=t0ken-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
KEY=k3y-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
EMAIL=ops@example.com
printf '%s\n' "$TOKEN" > "$WORK/token"
printf '%s\n' "$KEY" > "$WORK/key"
ROOT=http://127.0.0.1:$API_PORT
BASE=$ROOT/client/v4/accounts/$ACCOUNT/stream

start_server() {
  "$SERVER" --data-dir "$WORK/data" --api-port "$API_PORT" \
    --media-address 127.0.0.1 --rtmp-port "$RTMP_PORT" --srt-port "$SRT_PORT" \
    --public-host live.example --account-id "$ACCOUNT" \
    --api-token-file "$WORK/token" --api-key-file "$WORK/key" \
    --auth-email "$EMAIL" --max-live-inputs 3 --max-outputs 2 \
    >> "$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do
    if curl -s -o /dev/null "$ROOT/metrics"; then
      return 0
    fi
    sleep 0.1
  done
  echo "the server did not start:"; cat "$WORK/server.log"
  exit 1
}

fail() {
  FAILS=$((FAILS + 1))
  echo "FAIL: $*"
  echo "  response ($CODE): $(head -c 600 "$WORK/body")"
}

# req METHOD URL BODY [curl args...]: BODY "-" sends none; sets CODE, the
# body of the response is in $WORK/body
req() {
  local method=$1 url=$2 body=$3
  shift 3
  local data=()
  if [ "$body" != "-" ]; then
    data=(--data-binary "$body")
  fi
  CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" \
    "${data[@]}" "$@" "$url")
}

# areq METHOD URL [BODY [curl args...]]: with the API token
areq() {
  local method=$1 url=$2 body=${3:--}
  shift 2
  [ $# -gt 0 ] && shift
  req "$method" "$url" "$body" -H "Authorization: Bearer $TOKEN" "$@"
}

# expect STATUS [jq-filter that must be true] description
expect() {
  local status=$1 filter=$2 what=$3
  CHECKS=$((CHECKS + 1))
  if [ "$CODE" != "$status" ]; then
    fail "$what: HTTP $CODE, expected $status"
    return 1
  fi
  if [ -n "$filter" ] && ! jq -e "$filter" "$WORK/body" > /dev/null 2>&1; then
    fail "$what: not ($filter)"
    return 1
  fi
  return 0
}

# an error in Cloudflare's envelope with this HTTP status and code
expect_error() {
  local status=$1 code=$2 what=$3
  expect "$status" ".success == false and .result == null and .messages == [] and (.errors | length) == 1 and .errors[0].code == $code and (.errors[0].message | length) > 0" "$what"
}

ok_envelope='.success == true and .errors == [] and .messages == []'
TS_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$'

# the stored state as the API shows it (status left out: it moves)
snapshot() {
  local out=$1 uid
  : > "$out"
  curl -s -H "Authorization: Bearer $TOKEN" "$BASE/live_inputs?include_counts=true" | jq -S .result >> "$out"
  for uid in $(curl -s -H "Authorization: Bearer $TOKEN" "$BASE/live_inputs" | jq -r '.result.liveInputs[].uid'); do
    curl -s -H "Authorization: Bearer $TOKEN" "$BASE/live_inputs/$uid" | jq -S '.result | del(.status)' >> "$out"
    curl -s -H "Authorization: Bearer $TOKEN" "$BASE/live_inputs/$uid/outputs" | jq -S .result >> "$out"
    curl -s -H "Authorization: Bearer $TOKEN" "$BASE/live_inputs/$uid/videos" | jq -S .result >> "$out"
  done
  curl -s -H "Authorization: Bearer $TOKEN" "$BASE" | jq -S . >> "$out"
  curl -s -H "Authorization: Bearer $TOKEN" "$BASE/webhook" | jq -S . >> "$out"
}

start_server

echo "# authentication"
req GET "$BASE/live_inputs" -
expect_error 401 10000 "no credentials"
req GET "$BASE/live_inputs" - -H "Authorization: Bearer wrong"
expect_error 403 10001 "wrong token"
req GET "$BASE/live_inputs" - -H "Authorization: Basic Zm9vOmJhcg=="
expect_error 401 10000 "not a Bearer token"
req GET "$BASE/live_inputs" - -H "X-Auth-Email: $EMAIL" -H "X-Auth-Key: $KEY"
expect 200 "$ok_envelope" "X-Auth-Email + X-Auth-Key"
req GET "$BASE/live_inputs" - -H "X-Auth-Email: $EMAIL" -H "X-Auth-Key: wrong"
expect_error 403 10001 "wrong X-Auth-Key"
req GET "$BASE/live_inputs" - -H "X-Auth-Email: other@example.com" -H "X-Auth-Key: $KEY"
expect_error 403 10001 "wrong X-Auth-Email"
req GET "$BASE/live_inputs" - -H "X-Auth-Key: $KEY"
expect_error 401 10000 "X-Auth-Key without X-Auth-Email"
req POST "$BASE/live_inputs" '{}'
expect_error 401 10000 "create without credentials"
areq GET "$ROOT/client/v4/accounts/ffffffffffffffffffffffffffffffff/stream/live_inputs"
expect_error 403 10002 "another account"
grep -q "$TOKEN" "$WORK/server.log" && fail "the token is in the log"

echo "# routes"
areq GET "$ROOT/client/v4/accounts/$ACCOUNT/nothing"
expect_error 404 7003 "unknown path"
areq GET "$BASE/live_inputs/x/y/z/w/v"
expect_error 404 7003 "too deep"
req GET "$ROOT/nothing/here" -
expect_error 404 7003 "unknown path outside the API"
areq DELETE "$BASE/live_inputs"
expect_error 405 7001 "DELETE on the collection"
areq PATCH "$BASE/live_inputs/0123456789abcdef0123456789abcdef"
expect_error 405 7001 "PATCH on a live input"

echo "# create"
areq GET "$BASE/live_inputs?include_counts=true"
expect 200 "$ok_envelope and .result.liveInputs == [] and .result.total == 0" "empty list"
areq POST "$BASE/live_inputs" '{"meta": {"name":"test stream 1"}, "recording": {"mode": "automatic", "timeoutSeconds": 10}, "deleteRecordingAfterDays": 45}'
expect 200 "$ok_envelope" "create" || exit 1
cp "$WORK/body" "$WORK/created.json"
UID1=$(jq -r .result.uid "$WORK/body")
expect 200 "(.result.uid | test(\"^[0-9a-f]{32}\$\"))
  and .result.meta.name == \"test stream 1\"
  and .result.deleteRecordingAfterDays == 45
  and .result.recording.mode == \"automatic\" and .result.recording.timeoutSeconds == 10
  and .result.recording.requireSignedURLs == false and .result.recording.hideLiveViewerCount == false
  and .result.enabled == true and .result.preferLowLatency == false and .result.status == null
  and (.result.created | test(\"$TS_RE\")) and .result.created == .result.modified
  and .result.rtmps.url == \"rtmp://live.example:$RTMP_PORT/live/\"
  and (.result.rtmps.streamKey | test(\"^[0-9a-f]{32}k$UID1\$\"))
  and (.result.rtmpsPlayback.streamKey | test(\"^[0-9a-f]{32}k$UID1\$\"))
  and .result.rtmpsPlayback.streamKey != .result.rtmps.streamKey
  and .result.srt.url == \"srt://live.example:$SRT_PORT\" and .result.srt.streamId == \"$UID1\"
  and (.result.srt.passphrase | test(\"^[0-9a-f]{32}k$UID1\$\"))
  and .result.srtPlayback.streamId == \"play$UID1\"
  and .result.srtPlayback.passphrase != .result.srt.passphrase
  and (.result.webRTC.url | endswith(\"/webRTC/publish\"))
  and (.result.webRTCPlayback.url | endswith(\"$UID1/webRTC/play\"))" "created object"
# curl's default form content type, as in Cloudflare's examples
req POST "$BASE/live_inputs" '{"meta": {"name":"test stream 2"}}' -H "Authorization: Bearer $TOKEN"
expect 200 ".result.meta.name == \"test stream 2\" and .result.recording.mode == \"off\" and .result.deleteRecordingAfterDays == null" "create, curl --data"
UID2=$(jq -r .result.uid "$WORK/body")
[ "$UID1" != "$UID2" ] || fail "two inputs with one uid"

areq GET "$BASE/live_inputs/$UID1"
expect 200 "$ok_envelope and .result.uid == \"$UID1\" and .result.rtmps.streamKey == $(jq .result.rtmps.streamKey "$WORK/created.json")" "get"
areq GET "$BASE/live_inputs"
expect 200 "$ok_envelope and (.result.liveInputs | length) == 2 and .result.liveInputs[0].uid == \"$UID1\" and ([.result.liveInputs[] | has(\"rtmps\") or has(\"srt\")] | any | not) and .result.liveInputs[0].meta.name == \"test stream 1\" and .result.liveInputs[0].deleteRecordingAfterDays == 45 and (.result | has(\"total\") | not)" "list without credentials"
areq GET "$BASE/live_inputs?include_counts=true"
expect 200 ".result.total == 2 and .result.range == 2" "list include_counts"
areq GET "$BASE/live_inputs?include_counts=maybe"
expect_error 400 10011 "include_counts not a boolean"

echo "# bad requests change nothing"
snapshot "$WORK/before"
areq POST "$BASE/live_inputs" '{"meta": '
expect_error 400 10006 "broken JSON"
areq POST "$BASE/live_inputs" '[1,2]'
expect_error 400 10006 "an array"
areq POST "$BASE/live_inputs" '"x"'
expect_error 400 10006 "a string"
areq POST "$BASE/live_inputs" '{"enabled": "yes"}'
expect_error 400 10007 "enabled as a string"
jq -e '.errors[0].message | test("enabled")' "$WORK/body" > /dev/null || fail "the message names the field"
areq POST "$BASE/live_inputs" '{"meta": "name"}'
expect_error 400 10007 "meta as a string"
areq POST "$BASE/live_inputs" '{"deleteRecordingAfterDays": 29}'
expect_error 400 10007 "deleteRecordingAfterDays under 30"
jq -e '.errors[0].message | test("deleteRecordingAfterDays.*30")' "$WORK/body" > /dev/null || fail "the message says the minimum"
areq POST "$BASE/live_inputs" '{"deleteRecordingAfterDays": "45"}'
expect_error 400 10007 "deleteRecordingAfterDays as a string"
areq POST "$BASE/live_inputs" '{"recording": {"mode": "always"}}'
expect_error 400 10007 "recording.mode unknown"
areq POST "$BASE/live_inputs" '{"recording": {"timeoutSeconds": -1}}'
expect_error 400 10007 "negative timeoutSeconds"
areq POST "$BASE/live_inputs" '{"recording": {"timeoutSeconds": 1.5}}'
expect_error 400 10007 "fractional timeoutSeconds"
areq POST "$BASE/live_inputs" '{"recording": {"allowedOrigins": [1]}}'
expect_error 400 10007 "allowedOrigins not strings"
jq -e '.errors[0].message | test("recording.allowedOrigins\\[0\\] must be a string")' "$WORK/body" > /dev/null || fail "the message names the element"
areq POST "$BASE/live_inputs" '{"recording": {"allowedOrigins": {}}}'
expect_error 400 10007 "allowedOrigins as an object"
areq POST "$BASE/live_inputs" '{"recording": 5}'
expect_error 400 10007 "recording as a number"
# a valid member before an invalid one is not applied either
areq PUT "$BASE/live_inputs/$UID1" '{"meta": {"name": "changed"}, "enabled": false, "deleteRecordingAfterDays": 3}'
expect_error 400 10007 "update with deleteRecordingAfterDays 3"
areq PUT "$BASE/live_inputs/$UID1" '{"meta": {"name": "changed"}, "preferLowLatency": 1}'
expect_error 400 10007 "update with a number for a boolean"
areq PUT "$BASE/live_inputs/$UID1" 'nope'
expect_error 400 10006 "update with broken JSON"
head -c 1100000 /dev/zero | tr '\0' ' ' > "$WORK/big"
printf '{}' >> "$WORK/big"
areq POST "$BASE/live_inputs" "@$WORK/big"
expect_error 413 10010 "a body over 1 MiB"
areq POST "$BASE/live_inputs" "@$WORK/big" -H "Transfer-Encoding: chunked"
expect_error 413 10010 "a chunked body over 1 MiB"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "http://example.com/live", "streamKey": "k"}'
expect_error 400 10007 "an http:// output"
jq -e '.errors[0].message | test("rtmp://, rtmps:// or srt://")' "$WORK/body" > /dev/null || fail "the message lists the schemes"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "not a url", "streamKey": "k"}'
expect_error 400 10007 "an output URL that is no URL"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "rtmp://127.0.0.1/live"}'
expect_error 400 10007 "an output without streamKey"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"streamKey": "k"}'
expect_error 400 10007 "an output without url"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "rtmp://127.0.0.1/live", "streamKey": 5}'
expect_error 400 10007 "an output with a number as streamKey"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "rtmp://127.0.0.1/live", "streamKey": "k", "enabled": "no"}'
expect_error 400 10007 "an output with a string for enabled"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "srt://127.0.0.1", "streamKey": ""}'
expect_error 400 10007 "an SRT output without a port"
snapshot "$WORK/after"
diff -u "$WORK/before" "$WORK/after" > /dev/null || { fail "refused requests changed the state"; diff -u "$WORK/before" "$WORK/after" | head -20; }

echo "# unknown ids"
NOID=ffffffffffffffffffffffffffffffff
for m in GET PUT DELETE; do
  areq $m "$BASE/live_inputs/$NOID" '{}'
  expect_error 404 10003 "$m an unknown live input"
done
areq POST "$BASE/live_inputs/$NOID/rotate_keys"
expect_error 404 10003 "rotate_keys of an unknown live input"
areq GET "$BASE/live_inputs/$NOID/outputs"
expect_error 404 10003 "outputs of an unknown live input"
areq POST "$BASE/live_inputs/$NOID/outputs" '{"url": "rtmp://127.0.0.1/live", "streamKey": "k"}'
expect_error 404 10003 "an output on an unknown live input"
areq GET "$BASE/live_inputs/$NOID/videos"
expect_error 404 10003 "videos of an unknown live input"
areq PUT "$BASE/live_inputs/$UID1/outputs/$NOID" '{"enabled": false}'
expect_error 404 10004 "update an unknown output"
areq DELETE "$BASE/live_inputs/$UID1/outputs/$NOID"
expect_error 404 10004 "delete an unknown output"
areq GET "$BASE/$NOID"
expect_error 404 10005 "an unknown video"
areq DELETE "$BASE/$NOID"
expect_error 404 10005 "delete an unknown video"
req GET "$ROOT/$NOID/manifest/video.m3u8" -
expect_error 404 10005 "playback of an unknown uid"

echo "# update"
OLD_MOD=$(jq -r .result.modified "$WORK/created.json")
areq PUT "$BASE/live_inputs/$UID1" '{"enabled": false, "meta": {"name": "renamed"}, "recording": {"timeoutSeconds": 20, "allowedOrigins": ["example.com"]}, "preferLowLatency": true}'
expect 200 "$ok_envelope and .result.enabled == false and .result.meta.name == \"renamed\" and .result.recording.timeoutSeconds == 20 and .result.recording.mode == \"automatic\" and .result.recording.allowedOrigins == [\"example.com\"] and .result.preferLowLatency == true and .result.deleteRecordingAfterDays == 45 and .result.modified != \"$OLD_MOD\" and .result.created == \"$OLD_MOD\"" "update"
areq PUT "$BASE/live_inputs/$UID1" '{"enabled": true, "deleteRecordingAfterDays": null}'
expect 200 ".result.enabled == true and .result.deleteRecordingAfterDays == null and .result.meta.name == \"renamed\"" "update: null removes deleteRecordingAfterDays"
areq GET "$BASE/live_inputs/$UID1"
expect 200 ".result.enabled == true and .result.recording.timeoutSeconds == 20" "update kept"
areq GET "$BASE/live_inputs"
expect 200 "[.result.liveInputs[] | select(.uid == \"$UID1\")][0] | .meta.name == \"renamed\" and .deleteRecordingAfterDays == null and .modified != \"$OLD_MOD\"" "the list shows the update"

echo "# outputs"
areq GET "$BASE/live_inputs/$UID1/outputs"
expect 200 "$ok_envelope and .result == []" "no outputs"
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "rtmp://127.0.0.1:9/live","streamKey": "key-one"}'
expect 200 "$ok_envelope and (.result.uid | test(\"^[0-9a-f]{32}\$\")) and .result.url == \"rtmp://127.0.0.1:9/live\" and .result.streamKey == \"key-one\" and .result.enabled == true" "create an output"
OUT1=$(jq -r .result.uid "$WORK/body")
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "srt://127.0.0.1:9?streamid=x","streamKey": "", "enabled": false}'
expect 200 ".result.enabled == false and .result.url == \"srt://127.0.0.1:9?streamid=x\"" "create a disabled SRT output"
OUT2=$(jq -r .result.uid "$WORK/body")
areq POST "$BASE/live_inputs/$UID1/outputs" '{"url": "rtmps://127.0.0.1:9/live","streamKey": "key-three"}'
expect_error 409 10009 "a third output with --max-outputs 2"
areq GET "$BASE/live_inputs/$UID1/outputs"
expect 200 "(.result | length) == 2 and .result[0].uid == \"$OUT1\" and .result[1].uid == \"$OUT2\"" "list outputs"
areq PUT "$BASE/live_inputs/$UID1/outputs/$OUT1" '{"enabled": false}'
expect 200 "$ok_envelope and .result.enabled == false and .result.uid == \"$OUT1\" and .result.streamKey == \"key-one\"" "disable an output"
areq PUT "$BASE/live_inputs/$UID1/outputs/$OUT1" '{}'
expect_error 400 10007 "update an output without enabled"
areq PUT "$BASE/live_inputs/$UID1/outputs/$OUT1" '{"enabled": "true"}'
expect_error 400 10007 "update an output with a string"
areq GET "$BASE/live_inputs/$UID1/outputs"
expect 200 ".result[0].enabled == false" "output update kept"
areq PUT "$BASE/live_inputs/$UID1/outputs/$OUT1" '{"enabled": true}'
expect 200 ".result.enabled == true" "enable an output"
areq DELETE "$BASE/live_inputs/$UID1/outputs/$OUT2"
CHECKS=$((CHECKS + 1))
[ "$CODE" = 200 ] && [ ! -s "$WORK/body" ] || fail "delete an output: 200 with no body"
areq GET "$BASE/live_inputs/$UID1/outputs"
expect 200 "(.result | length) == 1 and .result[0].uid == \"$OUT1\"" "output deleted"
areq GET "$BASE/live_inputs/$UID2/outputs"
expect 200 ".result == []" "outputs belong to their input"

echo "# rotate_keys"
areq GET "$BASE/live_inputs/$UID1"
cp "$WORK/body" "$WORK/before-rotate.json"
areq POST "$BASE/live_inputs/$UID1/rotate_keys"
expect 200 "$ok_envelope and .result.uid == \"$UID1\" and (.result.keysRotatedAt | test(\"$TS_RE\")) and (.result.rtmps.streamKey | test(\"^[0-9a-f]{32}k$UID1\$\")) and .result.rtmps.streamKey != $(jq .result.rtmps.streamKey "$WORK/before-rotate.json") and .result.srt.passphrase != $(jq .result.srt.passphrase "$WORK/before-rotate.json") and .result.srt.streamId == \"$UID1\"" "rotate_keys"
areq GET "$BASE/live_inputs/$UID1/outputs"
expect 200 "(.result | length) == 1" "outputs kept through rotate_keys"
areq GET "$BASE/live_inputs/$UID1/rotate_keys"
expect_error 405 7001 "GET rotate_keys"

echo "# limits"
areq POST "$BASE/live_inputs" '{}'
expect 200 "$ok_envelope" "the third input"
UID3=$(jq -r .result.uid "$WORK/body")
areq POST "$BASE/live_inputs" '{}'
expect_error 409 10008 "a fourth input with --max-live-inputs 3"
jq -e '.errors[0].message | test("3")' "$WORK/body" > /dev/null || fail "the message gives the limit"
areq GET "$BASE/live_inputs?include_counts=true"
expect 200 ".result.total == 3" "the limit added nothing"

echo "# videos and playback"
areq GET "$BASE/live_inputs/$UID1/videos"
expect 200 "$ok_envelope and .result == []" "no recordings yet"
areq GET "$BASE"
expect 200 "$ok_envelope and .result == [] and .total == 0" "list videos"
areq GET "$BASE?live_input_id=$UID1&asc=true&limit=10&type=live"
expect 200 ".result == []" "list videos with filters"
areq GET "$BASE?limit=0"
expect_error 400 10011 "limit 0"
areq GET "$BASE?type=other"
expect_error 400 10011 "unknown type"
areq GET "$BASE?after=yesterday"
expect_error 400 10011 "after not a time"
req GET "$ROOT/$UID1/manifest/video.m3u8" -
CHECKS=$((CHECKS + 1))
[ "$CODE" = 204 ] || fail "HLS of a live input with nothing live: 204"
req GET "$ROOT/$UID1/lifecycle" -
expect 200 ".isInput == true and .live == false and .videoUID == null" "lifecycle of a live input"
req POST "$ROOT/$UID1/lifecycle" -
expect_error 405 7001 "POST lifecycle"
req GET "$ROOT/$UID1/manifest/..%2Fcflive.db" -
CHECKS=$((CHECKS + 1))
[ "$CODE" != 200 ] || fail "a path outside the recordings"

echo "# webhook"
areq GET "$BASE/webhook"
expect_error 404 10012 "no webhook yet"
areq PUT "$BASE/webhook" '{"notificationUrl": "ftp://example.com/hook"}'
expect_error 400 10007 "a webhook that is not http(s)"
areq PUT "$BASE/webhook" '{}'
expect_error 400 10007 "a webhook without notificationUrl"
areq PUT "$BASE/webhook" '{"notificationUrl": "http://127.0.0.1:9/hook"}'
expect 200 "$ok_envelope and .result.notificationUrl == \"http://127.0.0.1:9/hook\" and (.result.secret | length) >= 32 and (.result.modified | test(\"$TS_RE\"))" "set the webhook"
areq GET "$BASE/webhook"
expect 200 ".result.notificationUrl == \"http://127.0.0.1:9/hook\"" "get the webhook"

echo "# metrics"
req GET "$ROOT/metrics" -
CHECKS=$((CHECKS + 1))
grep -q '^cflive_live_inputs 3$' "$WORK/body" && grep -q '^cflive_outputs{state=' "$WORK/body" && grep -q '^cflive_api_requests_total{method="POST",code="400"}' "$WORK/body" || fail "metrics"

echo "# delete"
areq DELETE "$BASE/live_inputs/$UID3"
CHECKS=$((CHECKS + 1))
[ "$CODE" = 200 ] && [ ! -s "$WORK/body" ] || fail "delete a live input: 200 with no body"
areq GET "$BASE/live_inputs/$UID3"
expect_error 404 10003 "a deleted live input"
areq GET "$BASE/live_inputs?include_counts=true"
expect 200 ".result.total == 2" "two left"

echo "# restart"
snapshot "$WORK/before"
kill -TERM "$PID"; wait "$PID"; PID=
start_server
snapshot "$WORK/after"
CHECKS=$((CHECKS + 1))
diff -u "$WORK/before" "$WORK/after" || fail "the state changed across a restart"
areq GET "$BASE/live_inputs?include_counts=true"
expect 200 ".result.total == 2" "inputs after restart"

echo "# SIGKILL"
areq POST "$BASE/live_inputs/$UID2/outputs" '{"url": "rtmp://127.0.0.1:9/app","streamKey": "last"}'
expect 200 "$ok_envelope" "an output just before SIGKILL"
areq PUT "$BASE/live_inputs/$UID2" '{"meta": {"name": "just before"}}'
expect 200 "$ok_envelope" "an update just before SIGKILL"
snapshot "$WORK/before"
kill -KILL "$PID"; wait "$PID" 2>/dev/null; PID=
start_server
snapshot "$WORK/after"
CHECKS=$((CHECKS + 1))
diff -u "$WORK/before" "$WORK/after" || fail "the state changed across SIGKILL"
areq GET "$BASE/live_inputs/$UID2"
expect 200 ".result.meta.name == \"just before\"" "the last update survived"

echo "# recordings: Video fields, filters, edits"
# a recording as cfrecordsink writes it, put there while the server is
# stopped: the server indexes it when it starts
write_video() { # uid live-input state name
  local now
  now=$(date -u +%Y-%m-%dT%H:%M:%S.000000Z)
  mkdir -p "$WORK/data/recordings/$1"
  cat > "$WORK/data/recordings/$1/video.json" <<EOF
{"uid":"$1","liveInput":"$2","creator":null,"status":{"state":"$3","pctComplete":"100.000000","errorReasonCode":"","errorReasonText":""},
 "meta":{"name":"$4"},"created":"$now","modified":"$now","uploaded":"$now","readyToStream":true,"readyToStreamAt":"$now",
 "scheduledDeletion":null,"size":1000,"duration":12.5,"input":{"width":640,"height":360},"playback":{"hls":"video.m3u8","dash":null},
 "downloads":{"default":{"status":"ready","url":"video.mp4","percentComplete":100.0}},"thumbnail":"","preview":"",
 "requireSignedURLs":false,"allowedOrigins":[],"maxDurationSeconds":null,"watermark":null,"clippedFrom":null}
EOF
}
areq PUT "$BASE/live_inputs/$UID1" '{"defaultCreator": "creator-1", "recording": {"requireSignedURLs": true, "allowedOrigins": ["example.com"]}}'
expect 200 ".result.defaultCreator == \"creator-1\" and .result.recording.requireSignedURLs == true" "defaultCreator set"
VID1=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1
VID2=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2
kill -TERM "$PID"; wait "$PID"; PID=
write_video $VID1 "$UID1" ready "Puppy Show"
write_video $VID2 "$UID2" ready "cats"
start_server
areq GET "$BASE/$VID1"
expect 200 "$ok_envelope and .result.uid == \"$VID1\" and .result.liveInput == \"$UID1\"
  and .result.creator == \"creator-1\" and .result.requireSignedURLs == true
  and .result.allowedOrigins == [\"example.com\"] and .result.meta.name == \"Puppy Show\"
  and .result.status.state == \"ready\" and .result.readyToStream == true and .result.duration == 12.5
  and .result.input.width == 640 and .result.playback.hls == \"http://live.example:$API_PORT/$VID1/manifest/video.m3u8\"
  and .result.downloads.default.url == \"http://live.example:$API_PORT/$VID1/downloads/default.mp4\"" "a recording takes defaultCreator and the access settings of its input"
areq GET "$BASE/$VID2"
expect 200 ".result.creator == null and .result.requireSignedURLs == false and .result.allowedOrigins == []" "a recording of an input without defaultCreator"
areq GET "$BASE"
expect 200 "$ok_envelope and (.result | length) == 2 and .total == 2 and .range == 2" "list videos"
areq GET "$BASE?limit=1"
expect 200 "(.result | length) == 1 and .total == 2 and .range == 1" "range: the videos in this reply"
areq GET "$BASE?search=PUPPY"
expect 200 "[.result[].uid] == [\"$VID1\"] and .total == 1" "search over meta.name, any case"
areq GET "$BASE?search=nothing"
expect 200 ".result == [] and .total == 0" "search without a match"
areq GET "$BASE?creator=creator-1"
expect 200 "[.result[].uid] == [\"$VID1\"]" "creator filter"
areq GET "$BASE?creator=$(printf 'c%.0s' $(seq 65))"
expect_error 400 10011 "creator over 64 characters"
areq GET "$BASE?status=ready&live_input_id=$UID2"
expect 200 "[.result[].uid] == [\"$VID2\"]" "status and live_input_id filters"
areq GET "$BASE?status=finished"
expect_error 400 10011 "an unknown status"
areq GET "$BASE/live_inputs/$UID1/videos"
expect 200 "$ok_envelope and [.result[].uid] == [\"$VID1\"]" "the recordings of a live input"
areq POST "$BASE/$VID2" '{"meta": {"name": "Cats, renamed"}, "creator": "creator-2", "requireSignedURLs": true, "allowedOrigins": ["a.example", "*.b.example"]}'
expect 200 "$ok_envelope and .result.uid == \"$VID2\" and .result.meta.name == \"Cats, renamed\" and .result.creator == \"creator-2\" and .result.requireSignedURLs == true and .result.allowedOrigins == [\"a.example\", \"*.b.example\"] and .result.status.state == \"ready\"" "edit a video"
areq POST "$BASE/$VID2" '{"creator": 5}'
expect_error 400 10007 "edit a video: creator as a number"
areq POST "$BASE/$VID2" '{"meta": "x"}'
expect_error 400 10007 "edit a video: meta as a string"
areq POST "$BASE/$VID2" '{"creator": "changed", "requireSignedURLs": "yes"}'
expect_error 400 10007 "edit a video: requireSignedURLs as a string"
areq POST "$BASE/$VID2" '{"allowedOrigins": ["ok.example", 7]}'
expect_error 400 10007 "edit a video: allowedOrigins not strings"
jq -e '.errors[0].message | test("allowedOrigins\\[1\\] must be a string")' "$WORK/body" > /dev/null || fail "the message names the element"
areq POST "$BASE/$VID2" '{"allowedOrigins": "ok.example"}'
expect_error 400 10007 "edit a video: allowedOrigins as a string"
areq POST "$BASE/$VID2" '{"scheduledDeletion": "2099-01-01T00:00:00Z"}'
expect_error 400 10007 "edit a video: scheduledDeletion"
areq POST "$BASE/$VID2" '{"meta": '
expect_error 400 10006 "edit a video: broken JSON"
areq POST "$BASE/$NOID" '{"meta": {}}'
expect_error 404 10005 "edit an unknown video"
areq PATCH "$BASE/$VID2" '{}'
expect_error 405 7001 "PATCH a video"
areq GET "$BASE?creator=creator-2"
expect 200 "[.result[].uid] == [\"$VID2\"]" "creator filter after an edit"
areq GET "$BASE?creator=changed"
expect 200 ".result == []" "a refused edit changes nothing"
kill -TERM "$PID"; wait "$PID"; PID=
start_server
areq GET "$BASE/$VID2"
expect 200 ".result.meta.name == \"Cats, renamed\" and .result.creator == \"creator-2\" and .result.requireSignedURLs == true" "a video edit survives a restart"

echo "# the media ports are listened on from the start, with no live input"
CHECKS=$((CHECKS + 1))
grep -q ":$(printf '%04X' "$RTMP_PORT") 00000000:0000 0A " /proc/net/tcp ||
  fail "nothing listens on the RTMP port $RTMP_PORT"
kill -TERM "$PID"; wait "$PID"; PID=

echo "# a media port taken by another program: the server refuses to start"
CHECKS=$((CHECKS + 1))
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
time.sleep(30)' "$RTMP_PORT" &
HOLDER=$!
for _ in $(seq 50); do
  grep -q ":$(printf '%04X' "$RTMP_PORT") 00000000:0000 0A " /proc/net/tcp && break
  sleep 0.1
done
if "$SERVER" --data-dir "$WORK/data" --api-port "$API_PORT" \
    --media-address 127.0.0.1 --rtmp-port "$RTMP_PORT" --srt-port "$SRT_PORT" \
    --account-id "$ACCOUNT" --api-token-file "$WORK/token" \
    --api-key-file "$WORK/key" > "$WORK/taken.log" 2>&1; then
  CODE=exit0; : > "$WORK/body"
  fail "the server started on a taken RTMP port"
elif ! grep -q "cannot start: cannot listen on 127.0.0.1:$RTMP_PORT: .*in use" "$WORK/taken.log"; then
  CODE=log; cp "$WORK/taken.log" "$WORK/body"
  fail "no clear error for a taken RTMP port"
fi
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true

echo "$CHECKS checks, $FAILS failed"
if [ "$FAILS" -ne 0 ]; then
  echo "--- server log"; tail -50 "$WORK/server.log"
  exit 1
fi
exit 0
