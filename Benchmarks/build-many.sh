#!/usr/bin/env bash
# kiln build of 50 specs on one registry: a full build (base layers mounted) and a no-op build
# (every content tag present), timed, with the registry's requests per image from its access log.
#
#   one docker-registry on 127.0.0.1 with its access log on; a 3-layer base (3 x BASE_MIB MiB,
#   default 4, built with umoci) pushed once with skopeo to base/app:1.0
#   a project with 50 specs images/svcNN.yaml: that base, target REG/runR/svcNN (one repository
#   per service, like one ECR repository per service), tags [latest], one overlay file with its
#   own content, one env var; locked once
#   per run R: the targets move to fresh repositories runR/... (only `target:` changes, the lock
#   stays valid), then
#     full:   kiln build --parallel 8   (50 new images: base layers mounted, layer+config+manifests)
#     no-op:  kiln build --parallel 8   (the same specs again: every content tag holds its digest)
#     peer:   skopeo copy of the base to 50 new repositories, one process each (skopeo mounts the
#             layers through its blob-info cache; it bakes nothing, so it is a floor, not a twin)
#
#   Both with provenance (kiln build's default: an in-toto statement attached to each image; the
#   loopback registry has no referrers API, so by the tag schema) and with --no-provenance, the
#   two modes interleaved run by run (which goes first alternates), each into repositories of
#   its own: cases full/noop (provenance) and full-np/noop-np (--no-provenance).
#
# The issue's targets: no-op <= 1 s, full <= 5 s (wall, all 50); requests per image: no-op <= 2,
# and a new image on a warm session makes no second /v2/ probe and no second token fetch; with
# provenance at most 1.2 times the time without it, full and no-op (issue 24).
# With python3's jwt and cryptography modules the same is repeated on a second registry with
# `auth: token` (Tests/Fixtures/token_issuer.py as the realm), where token fetches are counted
# from the issuer's log; TOKEN=0 skips that part.
#
# Usage: Benchmarks/build-many.sh [RUNS]   (default 3; medians are printed)
# Environment: SPECS (default 50), PARALLEL (default 8), BASE_MIB (default 4), TOKEN (auto|0|1),
#   PEER=0 skips the skopeo peer, PROVENANCE=both|on|off (default both), KILN=PATH measures that
#   kiln binary instead of building this one (lib.sh; an older build, for a before/after),
#   LOGS=DIR keeps the access logs and the last run's outputs in DIR.
# Needs: swift, umoci, skopeo, docker-registry, GNU time, curl; python3 with jwt+cryptography
#   for the token part.
set -euo pipefail
runs=${1:-3}
specs=${SPECS:-50}
parallel=${PARALLEL:-8}
base_mib=${BASE_MIB:-4}
token_mode=${TOKEN:-auto}
peer=${PEER:-1}
logs=${LOGS:-}
case ${PROVENANCE:-both} in
  both) modes=("" -np);; on) modes=("");; off) modes=(-np);;
  *) echo "PROVENANCE: both, on or off" >&2; exit 64;;
esac
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [RUNS]" >&2; exit 64; }
[[ -z $logs ]] || logs=$(mkdir -p "$logs" && cd "$logs" && pwd)
source "$(dirname "$0")/lib.sh"
fixtures=$PWD/Tests/Fixtures

# Nothing from the user's configuration: no credentials, no endpoints, no skopeo auth file.
export KILN_CONFIG=$work/kiln-config.yaml && echo 'registries: {}' > "$KILN_CONFIG"
export DOCKER_CONFIG=$work/docker && mkdir -p "$DOCKER_CONFIG" && echo '{"auths":{}}' > "$DOCKER_CONFIG/config.json"
export REGISTRY_AUTH_FILE=$DOCKER_CONFIG/config.json


# A registry like lib.sh's start_registry, but with the access log on: the combined log lines go
# to standard output, which is $work/NAME/access.log; the application log to $work/NAME/log.
# AUTH_YAML (optional) is appended to the config.
start_logged_registry() { # NAME PORT [AUTH_YAML]
  mkdir -p "$work/$1"
  printf 'version: 0.1\nlog:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n  secret: kiln-bench\n%s' \
    "$work/$1/data" "$2" "${3:-}" > "$work/$1/config.yml"
  : > "$work/$1/access.log"
  # (REGISTRY_* variables override the registry's config: REGISTRY_AUTH_FILE would replace auth:)
  env -u REGISTRY_AUTH_FILE docker-registry serve "$work/$1/config.yml" > "$work/$1/access.log" 2> "$work/$1/log" &
  local pid=$!
  echo "$pid" > "$work/$1/pid"
  cleanup_hooks+=("kill $pid")
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break # exited: a bad config, or the port was taken meanwhile
    curl -s -o /dev/null "http://127.0.0.1:$2/v2/" && kill -0 "$pid" 2>/dev/null && return
    sleep 0.1
  done
  echo "registry $1 did not start:"; cat "$work/$1/log"; exit 1
}

# free_port FROM: the first port from FROM on where nothing listens on 127.0.0.1 (tests running
# at the same time start registries on ports of their own).
free_port() {
  local port
  for ((port = $1; port < $1 + 200; port++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
  echo "no free port from $1" >&2; exit 1
}

# cpu_ticks REG: the registry process's CPU so far (user + system), in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$(cat "$work/$1/pid")/stat"; }

# timed NAME OUT REG CMD...: like lib.sh's measure but keeps the command's standard output in OUT;
# appends "seconds peak_rss_kib command_cpu_s registry_cpu_s" to $work/NAME (CPU: user + system,
# the registry's counted from its /proc stat over the command; load-robust, unlike the wall time).
timed() {
  local name=$1 out=$2 reg=$3; shift 3
  settle "$work/$reg/access.log"
  local r0; r0=$(cpu_ticks "$reg")
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M %U %S" -o "$work/.rss" "$@" >"$out" 2>"$work/.err" || { echo "$name failed:"; cat "$work/.err"; exit 1; }
  local t1=$EPOCHREALTIME
  settle "$work/$reg/access.log"
  local r1; r1=$(cpu_ticks "$reg")
  awk -v a="$t0" -v b="$t1" -v r0="$r0" -v r1="$r1" -v hz="$(getconf CLK_TCK)" -v f="$(cat "$work/.rss")" \
    'BEGIN {split(f, x, " "); printf "%.4f %s %.2f %.2f\n", b - a, x[1], x[2] + x[3], (r1 - r0) / hz}' >> "$work/$name"
}

# Access-log windows: mark REG before a command, then cut REG NAME after it. The registry writes a
# line once the response is sent, so wait until the log has been quiet for 0.2 s.
log_lines() { wc -l < "$1"; }
mark() { # REG
  mark_access=$(log_lines "$work/$1/access.log")
  mark_issuer=0; [[ -f $work/$1/issuer.log ]] && mark_issuer=$(log_lines "$work/$1/issuer.log")
  return 0
}
settle() { # FILE
  local n m; n=$(log_lines "$1")
  while sleep 0.2; m=$(log_lines "$1"); [[ $m != "$n" ]]; do n=$m; done
}
cut_window() { # REG NAME: appends one line of counts (see count_requests) to $work/NAME.reqs
  settle "$work/$1/access.log"
  local tokens=0
  if [[ -f $work/$1/issuer.log ]]; then
    settle "$work/$1/issuer.log"
    tokens=$(tail -n +"$((mark_issuer + 1))" "$work/$1/issuer.log" | grep -c '"path": "/token' || true)
  fi
  tail -n +"$((mark_access + 1))" "$work/$1/access.log" > "$work/.window"
  count_requests "$tokens" < "$work/.window" >> "$work/$2.reqs"
}

# Request kinds, in this order (the first is token fetches, counted at the issuer; mount-miss: a
# POST ?mount= the registry answered 202, i.e. an upload instead of a mount; refused-401: a
# request other than the probe answered 401, i.e. sent without a token that covers it):
kinds=(token probe head-manifest get-manifest head-blob get-blob post-mount mount-miss post-upload patch put-blob put-manifest other total refused-401 status-5xx)
count_requests() { # TOKENS < access log lines
  awk -v tokens="$1" '
    /^[0-9a-f.:]+ - / {
      split($0, q, "\""); split(q[2], r, " "); m = r[1]; p = r[2]
      split(q[3], s, " "); st = s[1]
      if (m == "GET" && p == "/v2/") c["probe"]++
      else if (p ~ /\/manifests\//) { if (m == "HEAD") c["head-manifest"]++; else if (m == "GET") c["get-manifest"]++; else if (m == "PUT") c["put-manifest"]++; else c["other"]++ }
      else if (p ~ /\/blobs\/uploads\//) {
        if (m == "POST" && p ~ /[?&]mount=/) { c["post-mount"]++; if (st == 202) c["mount-miss"]++ }
        else if (m == "POST") c["post-upload"]++
        else if (m == "PATCH") c["patch"]++
        else if (m == "PUT") c["put-blob"]++
        else c["other"]++
      }
      else if (p ~ /\/blobs\/sha256:/) { if (m == "HEAD") c["head-blob"]++; else if (m == "GET") c["get-blob"]++; else c["other"]++ }
      else c["other"]++
      c["total"]++
      if (st == 401 && !(m == "GET" && p == "/v2/")) c["refused-401"]++
      if (st >= 500) c["status-5xx"]++
    }
    END {
      n = split("probe head-manifest get-manifest head-blob get-blob post-mount mount-miss post-upload patch put-blob put-manifest other total refused-401 status-5xx", k, " ")
      line = tokens + 0
      for (i = 1; i <= n; i++) line = line " " (c[k[i]] + 0)
      print line
    }'
}

# expect OUT COUNT WORD: every line of a kiln build output ends in (WORD).
expect() {
  local got; got=$(grep -c " ($3)\$" "$1" || true)
  [[ $got == "$2" ]] || { echo "expected $2 images ($3), got $got:"; cat "$1"; exit 1; }
}

# bench LABEL REG PORT [SKOPEO_CREDS]: the project, the lock and the measured runs on one registry.
bench() {
  local label=$1 reg=$2 port=$3 creds=${4:-} host=127.0.0.1:$3 project=$work/project-$1
  local -a skopeo_dest=(--dest-tls-verify=false) skopeo_src=(--src-tls-verify=false)
  [[ -z $creds ]] || { skopeo_dest+=(--dest-creds "$creds"); skopeo_src+=(--src-creds "$creds"); }
  skopeo copy --quiet "${skopeo_dest[@]}" "oci:$work/base:base" "docker://$host/base/app:1.0"

  mkdir -p "$project/images" "$project/files"
  for i in $(seq -w 1 "$specs"); do
    printf 'service = svc%s\nlisten = 0.0.0.0:80%s\n' "$i" "$i" > "$project/files/svc$i.conf"
    cat > "$project/images/svc$i.yaml" <<SPEC
base: $host/base/app:1.0
target: $host/run0/svc$i
tags: [latest]
overlays:
  - {from: files/svc$i.conf, to: /etc/svc/app.conf}
config:
  env: {SERVICE_NAME: svc$i}
SPEC
  done
  "$kiln" lock --root "$project" --quiet >/dev/null

  local run mode i
  local -a order flags
  for run in $(seq "$runs"); do
    # The modes take turns going first.
    order=("${modes[@]}")
    ((run % 2 == 0)) && ((${#modes[@]} == 2)) && order=("${modes[1]}" "${modes[0]}")
    for mode in "${order[@]}"; do
      flags=(); [[ -z $mode ]] || flags=(--no-provenance)
      sed -i -E "s|^target: $host/[^/]+/|target: $host/run$run$mode/|" "$project"/images/*.yaml
      mark "$reg"
      timed "$label-full$mode" "$work/out-full" "$reg" "$kiln" build --root "$project" --parallel "$parallel" --quiet "${flags[@]}"
      cut_window "$reg" "$label-full$mode"
      expect "$work/out-full" "$specs" built

      mark "$reg"
      timed "$label-noop$mode" "$work/out-noop" "$reg" "$kiln" build --root "$project" --parallel "$parallel" --quiet "${flags[@]}"
      cut_window "$reg" "$label-noop$mode"
      expect "$work/out-noop" "$specs" "up to date"
    done

    [[ $peer == 1 ]] || continue
    mark "$reg"
    timed "$label-skopeo" /dev/null "$reg" bash -c 'for i in $(seq -w 1 "$1"); do
        skopeo copy --quiet "${@:4}" "docker://$2/base/app:1.0" "docker://$2/s$3/svc$i:latest" || exit 1
      done' _ "$specs" "$host" "$run" "${skopeo_src[@]}" "${skopeo_dest[@]}"
    cut_window "$reg" "$label-skopeo"
  done
  if [[ -n $logs ]]; then
    cp "$work/$reg/access.log" "$logs/$label-access.log"
    [[ ! -f $work/$reg/issuer.log ]] || cp "$work/$reg/issuer.log" "$logs/$label-issuer.log"
    cp "$work/out-full" "$logs/$label-full.out"; cp "$work/out-noop" "$logs/$label-noop.out"
  fi
}

make_base "$work/base" "$base_mib"
echo "kiln: $("$kiln" --version), $(git log -1 --format=%h)$(git diff --quiet HEAD -- Sources Package.swift || echo ' + local changes'); $specs specs, --parallel $parallel, $runs runs; load average $(cut -d' ' -f1-3 /proc/loadavg)"

labels=(plain)
port=$(free_port 55021)
start_logged_registry plain "$port"
bench plain plain "$port"

if [[ $token_mode == auto ]]; then
  if python3 -c 'import jwt, cryptography' 2>/dev/null; then token_mode=1; else token_mode=0; echo "token part skipped: python3 lacks jwt or cryptography"; fi
fi
if [[ $token_mode == 1 ]]; then
  mkdir -p "$work/token"
  : > "$work/token/issuer.log"
  coproc issuer { exec python3 "$fixtures/token_issuer.py" --service kiln-bench --issuer kiln-bench-issuer \
    --user bench:secret --cert-out "$work/token/issuer.pem" --log "$work/token/issuer.log"; }
  cleanup_hooks+=("kill $issuer_PID")
  read -r -t 30 issuer_port <&"${issuer[0]}" || { echo "token issuer did not start"; exit 1; }
  port=$(free_port $((port + 1)))
  start_logged_registry token "$port" "$(printf 'auth:\n  token:\n    realm: http://127.0.0.1:%s/token\n    service: kiln-bench\n    issuer: kiln-bench-issuer\n    rootcertbundle: %s\n' "$issuer_port" "$work/token/issuer.pem")"
  echo "{\"auths\":{\"127.0.0.1:$port\":{\"auth\":\"$(printf bench:secret | base64)\"}}}" > "$DOCKER_CONFIG/config.json"
  labels+=(token)
  bench token token "$port" bench:secret
fi

# Medians of time, RSS and each request count; requests also per image.
med() { awk -v c="$2" '{print $c}' "$work/$1" | median; }
col() { local i; for i in "${!kinds[@]}"; do [[ ${kinds[i]} == "$1" ]] && { echo $((i + 1)); return; }; done; exit 1; }
medreq() { awk -v c="$(col "$2")" '{print $c}' "$work/$1.reqs" | median; } # NAME KIND
spread() { # NAME: "" when every run made the same requests, else a note
  local i v
  for i in "${!kinds[@]}"; do
    v=$(awk -v c=$((i + 1)) '{print $c}' "$work/$1.reqs")
    [[ $(sort -u <<< "$v" | wc -l) == 1 ]] || echo "  $1: ${kinds[i]} differs between runs: $(paste -sd/ <<< "$v")"
  done
}

# The cases measured, per registry.
kinds_of_case=()
for mode in "${modes[@]}"; do kinds_of_case+=("full$mode" "noop$mode"); done
[[ $peer == 1 ]] && kinds_of_case+=(skopeo)

echo
echo "medians of $runs runs, $specs images each (wall time and peak RSS of the whole command):"
printf '%-8s %-44s %9s %9s %10s %10s %10s\n' registry case "wall s" "per image" "RSS MiB" "cmd CPU s" "reg CPU s"
for label in "${labels[@]}"; do
  for c in "${kinds_of_case[@]}"; do
    case $c in
      full) what="kiln build, all new (--parallel $parallel)";;
      noop) what="kiln build, no-op";;
      full-np) what="kiln build --no-provenance, all new";;
      noop-np) what="kiln build --no-provenance, no-op";;
      skopeo) what="skopeo copy base x $specs (peer)";;
    esac
    t=$(med "$label-$c" 1); m=$(med "$label-$c" 2); k=$(med "$label-$c" 3); r=$(med "$label-$c" 4)
    awk -v l="$label" -v w="$what" -v t="$t" -v m="$m" -v k="$k" -v r="$r" -v n="$specs" \
      'BEGIN {printf "%-8s %-44s %9.3f %8.1fms %10.1f %10.2f %10.2f\n", l, w, t, 1000*t/n, m/1024, k, r}'
  done
done
if ((${#modes[@]} == 2)); then
  echo
  echo "provenance's cost (median with / median without; issue 24: at most 1.2):"
  for label in "${labels[@]}"; do
    for c in full noop; do
      awk -v l="$label-$c" -v a="$(med "$label-$c" 1)" -v b="$(med "$label-$c-np" 1)" \
        'BEGIN {r = a / b; printf "  %-12s %6.3f s / %6.3f s = %5.2f  %s\n", l, a, b, r, r <= 1.2 ? "met" : "NOT met"}'
      awk -v l="$label-$c" -v a="$(med "$label-$c" 3)" -v b="$(med "$label-$c-np" 3)" -v c="$(med "$label-$c" 4)" -v d="$(med "$label-$c-np" 4)" \
        'BEGIN {printf "  %-12s CPU: kiln %5.2f s / %5.2f s, registry %5.2f s / %5.2f s, both %5.2f\n", "", a, b, c, d, ((b + d) > 0 ? (a + c) / (b + d) : 0)}'
    done
  done
fi

echo
echo "registry requests per image (median count for the whole command / $specs; token: fetches at the realm):"
cases=()
for label in "${labels[@]}"; do for c in "${kinds_of_case[@]}"; do cases+=("$label-$c"); done; done
row=$(printf '%-13s' kind); for c in "${cases[@]}"; do row+=$(printf ' %13s' "$c"); done; echo "$row"
for k in "${kinds[@]}"; do
  row=$(printf '%-13s' "$k")
  for c in "${cases[@]}"; do row+=$(awk -v v="$(medreq "$c" "$k")" -v n="$specs" 'BEGIN {printf " %13.2f", v/n}'); done
  echo "$row"
done
for c in "${cases[@]}"; do spread "$c"; done
echo
echo "totals per command (median): probes (GET /v2/) and token fetches for all $specs images:"
for label in "${labels[@]}"; do
  for c in "${kinds_of_case[@]}"; do
    printf '  %-15s probes %4s  tokens %4s  requests %5s\n' "$label-$c" "$(medreq "$label-$c" probe)" "$(medreq "$label-$c" token)" "$(medreq "$label-$c" total)"
  done
done

echo
echo "against the issue's targets (warm: requests per image without GET /v2/ probes and refused-401s;"
echo "a warm session probes once per command and fetches at most one token per image):"
for label in "${labels[@]}"; do
  for c in "${kinds_of_case[@]}"; do
    [[ $c != skopeo ]] || continue
    awk -v l="$label-$c" -v c="${c%-np}" -v t="$(med "$label-$c" 1)" -v tot="$(medreq "$label-$c" total)" -v p="$(medreq "$label-$c" probe)" \
      -v u="$(medreq "$label-$c" refused-401)" -v tok="$(medreq "$label-$c" token)" -v n="$specs" -v auth="$label" '
      function v(ok) { return ok ? "met" : "NOT met" }
      BEGIN {
        limit = c == "full" ? 5 : 1
        line = sprintf("  %-14s %6.3f s <= %d s %-8s  requests/image %5.2f, warm %5.2f", l, t, limit, v(t <= limit), tot / n, (tot - p - u) / n)
        if (c == "noop") line = line sprintf(" <= 2 %-8s", v((tot - p - u) / n <= 2))
        else line = line sprintf("   %-8s", "")
        line = line sprintf("  probes %d (1 %s)", p, v(p <= 1))
        if (auth == "token") line = line sprintf("  tokens %d (<= %d %s)", tok, n, v(tok <= n))
        print line
      }'
  done
done
