#!/usr/bin/env bash
# Checks the release that scripts/release.sh put in OUTDIR the way a user meets it:
#   scripts/release-check.sh OUTDIR
#   contents       the tarball's files, owners and modes; SHA256SUMS; completions, man page
#   runtime-needs  the binary needs only the libraries the README lists (ldd, objdump), glibc <= 2.35
#   reproducible   packaging it again from two other directories gives the same bytes; no build
#                  path is left in the binary (strings)
#   clean-machine  a Debian 12 minbase root (mmdebstrap, no Swift) runs kiln --version, the
#                  README's offline demo and a registry bake (registry on loopback) under chroot
#   install-script scripts/install.sh from a local HTTP server: installs; a corrupted byte is
#                  refused and installs nothing
#   github-action  action.yml's run: steps with INPUT_* set, as the runner would run them
#   kiln-image     release/kiln.yaml baked by the release's kiln onto a look-alike of
#                  debian:bookworm-slim runs kiln --version and the demo under podman
# Each check prints "ok - NAME" or "FAIL - NAME" with its log; the last line counts them, and
# the exit status is 1 when any failed. Needs root (chroot, mounts), mmdebstrap, podman, runc,
# umoci, skopeo, docker-registry, python3 with PyYAML, curl.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: scripts/release-check.sh OUTDIR" >&2; exit 64; }
out=$(cd "$1" && pwd -P)
cd "$(dirname "$0")/.."
root=$(pwd -P)

version=$(sed -n 's/^public let kilnVersion = "\(.*\)"$/\1/p' Sources/KilnRegistry/Version.swift)
arch=$(uname -m)
name=kiln-$version-linux-$arch
tarball=$out/$name.tar.gz
[ -f "$tarball" ] || { echo "release-check: $tarball is missing (run scripts/release.sh $1 first)" >&2; exit 1; }
for tool in mmdebstrap podman runc umoci skopeo docker-registry python3 curl objdump strings unshare chroot; do
    command -v "$tool" >/dev/null || { echo "release-check: $tool is not installed (see the README's test command)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "release-check: needs root (chroot, mount)" >&2; exit 1; }

# The README's demo: its arguments after `.build/release/kiln`, and the reference it prints.
demo=$(grep -m1 -o '\.build/release/kiln bake .*$' README.md | sed 's|^\.build/release/kiln ||')
golden=$(grep -m1 -o 'It prints `oci:/tmp/kiln-demo@sha256:[0-9a-f]*`' README.md | grep -o 'sha256:[0-9a-f]*')
[ -n "$demo" ] && [ -n "$golden" ] || { echo "release-check: the README's demo command or digest was not found" >&2; exit 1; }
demo_args=()
eval "demo_args=($demo)"

work=$(mktemp -d "${TMPDIR:-/tmp}/kiln-release-check-XXXXXX")
servers=()
cleanup() {
    for pid in "${servers[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

mkdir "$work/unpacked"
tar -xzf "$tarball" -C "$work/unpacked"
kiln=$work/unpacked/$name/bin/kiln

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {
    for _ in $(seq 100); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "release-check: nothing answers at $1" >&2
    return 1
}

# One distribution registry on loopback for the registry bake and the image's base.
registry_port=$(free_port)
registry=127.0.0.1:$registry_port
mkdir "$work/registry"
cat >"$work/registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/registry/data
http:
  addr: $registry
EOF
docker-registry serve "$work/registry/config.yml" >"$work/registry/log" 2>&1 &
servers+=($!)
wait_for "http://$registry/v2/"

# One HTTP server for install.sh and the Action: good/ holds the release, bad/ the same with
# one byte of the tarball changed.
site=$work/site
mkdir -p "$site/good" "$site/bad"
cp "$tarball" "$out/SHA256SUMS" "$site/good/"
cp "$tarball" "$out/SHA256SUMS" "$site/bad/"
size=$(stat -c %s "$tarball")
# One byte changed (to 'x', or to 'y' where it already is 'x': a write of the same byte would
# corrupt nothing, as happened once).
byte=$(dd if="$tarball" bs=1 skip=$((size / 2)) count=1 status=none | od -An -c | tr -d ' ')
replacement=x; [ "$byte" != x ] || replacement=y
printf '%s' "$replacement" | dd of="$site/bad/$name.tar.gz" bs=1 seek=$((size / 2)) conv=notrunc status=none
cmp -s "$tarball" "$site/bad/$name.tar.gz" && { echo "release-check: the corrupted copy equals the tarball" >&2; exit 1; }
http_port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$site" "$http_port" >"$work/http.log" 2>&1 &
servers+=($!)
wait_for "http://127.0.0.1:$http_port/good/SHA256SUMS"

fail() { echo "$*" >&2; exit 1; }
expect() { [ "$1" = "$2" ] || fail "expected '$2', got '$1'${3:+ ($3)}"; }

check_contents() {
    local expected=(bin/ bin/kiln bin/kiln-docker share/ share/bash-completion/ share/bash-completion/completions/
        share/bash-completion/completions/kiln share/doc/ share/doc/kiln/ share/doc/kiln/README.md share/doc/kiln/LICENSE share/doc/kiln/CHANGELOG.md
        share/fish/ share/fish/vendor_completions.d/ share/fish/vendor_completions.d/kiln.fish share/man/
        share/man/man1/ share/man/man1/kiln.1 share/zsh/ share/zsh/site-functions/ share/zsh/site-functions/_kiln)
    expect "$(tar -tzf "$tarball" | sed "s|^$name/||" | sed '/^$/d' | sort | paste -sd' ')" \
        "$(printf '%s\n' "${expected[@]}" | sort | paste -sd' ')" "the tarball's entries"
    expect "$(tar -tvzf "$tarball" | awk '{print $2}' | sort -u)" "0/0" "owners"
    expect "$(tar -tvzf "$tarball" | awk '$6 ~ /bin\/kiln$/ {print $1}')" "-rwxr-xr-x" "bin/kiln's mode"
    expect "$(tar -tvzf "$tarball" | awk '$6 ~ /bin\/kiln-docker$/ {print $1, $8}')" "lrwxrwxrwx kiln" "bin/kiln-docker, a link to kiln"
    (cd "$out" && sha256sum --check --strict SHA256SUMS)
    expect "$("$kiln" --version)" "$version"
    local tree=$work/unpacked/$name
    grep -Eq '^complete .*-F _kiln kiln$' "$tree/share/bash-completion/completions/kiln" || fail "bash completion does not complete kiln"
    head -1 "$tree/share/zsh/site-functions/_kiln" | grep -q '^#compdef kiln' || fail "zsh completion has no #compdef"
    grep -q "^complete -c 'kiln'" "$tree/share/fish/vendor_completions.d/kiln.fish" || fail "fish completion does not complete kiln"
    grep -q '^\.Dt KILN 1' "$tree/share/man/man1/kiln.1" || fail "kiln.1 is not an mdoc page for KILN(1)"
    grep -q 'bake' "$tree/share/man/man1/kiln.1" || fail "kiln.1 does not describe bake"
    echo "entries, owners, modes, SHA256SUMS, completions and man page as expected"
}

check_runtime_needs() {
    # The libraries the README's Install section lists (packages libc6, libstdc++6, libgcc-s1,
    # libarchive13, libssl3, zlib1g); nothing of the Swift toolchain.
    local allowed="libarchive.so.13 libc.so.6 libcrypto.so.3 libgcc_s.so.1 libm.so.6 libstdc++.so.6 libz.so.1
        ld-linux-x86-64.so.2 ld-linux-aarch64.so.1"
    local needed
    needed=$(objdump -p "$kiln" | awk '$1 == "NEEDED" {print $2}' | sort | paste -sd' ')
    echo "NEEDED: $needed"
    for library in $needed; do
        case " $(echo $allowed) " in *" $library "*) ;; *) fail "bin/kiln needs $library, which the README does not list" ;; esac
    done
    ldd "$kiln"
    ! ldd "$kiln" | grep -i 'not found' || fail "a library is missing on this machine"
    ! ldd "$kiln" | grep -Ei 'swift|Foundation|dispatch' || fail "bin/kiln links the Swift runtime dynamically"
    local glibc
    glibc=$(objdump -T "$kiln" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
    echo "newest glibc symbol version: $glibc"
    expect "$(printf '%s\n2.35\n' "$glibc" | sort -V | tail -1)" "2.35" "glibc needed (the README says 2.35)"
    for package in libarchive13 libssl3 libstdc++6 libgcc-s1 zlib1g libarchive13t64 libssl3t64 "glibc 2.35"; do
        grep -q "$package" README.md || fail "the README's Install section does not name $package"
    done
}

check_reproducible() {
    # Two copies of the checkout at different paths package the same binary into the same
    # bytes as OUTDIR's tarball (the binary's own reproducibility across two checkouts is
    # recorded in docs/benchmarks.md: a second full build here would take minutes).
    # The time release.sh stamped (the commit's, or SOURCE_DATE_EPOCH): an input, not a result.
    local epoch
    epoch=$(python3 -c 'import sys, tarfile; print(tarfile.open(sys.argv[1]).getmembers()[0].mtime)' "$tarball")
    local scratch
    scratch=$(cd "${KILN_RELEASE_SCRATCH:-.build-release}" && pwd -P)
    local copy
    for copy in "$work/a/kiln" "$work/b/some/other/place"; do
        mkdir -p "$copy"
        git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$copy"
        (cd "$copy" && SOURCE_DATE_EPOCH=$epoch KILN_RELEASE_SCRATCH=$scratch scripts/release.sh --binary "$kiln" "$copy.out" >/dev/null)
        cmp "$copy.out/$name.tar.gz" "$tarball" || fail "packaging in $copy gave other bytes than $tarball"
        cmp "$copy.out/SHA256SUMS" "$out/SHA256SUMS" || fail "SHA256SUMS differs"
    done
    echo "same tarball from $work/a/kiln and $work/b/some/other/place: $(cut -d' ' -f1 "$out/SHA256SUMS")"
    # No absolute build path: neither this checkout's nor the build directory's, nor any
    # absolute path into a SwiftPM build (an unmapped build names hundreds; mapped, they read
    # ./Sources/... and ./.build-release/checkouts/...). The toolchain's static libraries
    # carry its own builder's paths, the same for every user of that toolchain.
    local leaks
    leaks=$(strings -n 6 "$kiln" | grep -F -e "$root" -e "$scratch" || true)
    leaks+=$(strings -n 6 "$kiln" | grep -E '(^|[^A-Za-z0-9_.])/[^ ]*/(checkouts|\.build[^/]*)/' || true)
    [ -z "$leaks" ] || fail "build paths in bin/kiln: $(head -5 <<<"$leaks")"
    echo "the same tarball packaged from two other directories ($(cut -d' ' -f1 "$out/SHA256SUMS" | cut -c1-12)…); no build path in bin/kiln"
}

check_clean_machine() {
    local rootfs=$work/chroot
    local base
    base=$(scripts/debian-root.sh bookworm minbase libarchive13,libssl3,ca-certificates)
    mkdir "$rootfs"
    tar -xf "$base" -C "$rootfs"
    [ -z "$(find "$rootfs" -name 'libswiftCore*' -o -name 'swift' -o -name 'libFoundation*' | head -1)" ] ||
        fail "the Debian root holds Swift files"
    mkdir -p "$rootfs/opt" "$rootfs/demo/overlays"
    tar -xzf "$tarball" -C "$rootfs/opt"
    cp -a samples "$rootfs/demo/samples"
    cp -a overlays/gateway "$rootfs/demo/overlays/gateway"
    skopeo copy --quiet --dest-tls-verify=false oci:samples/base:1.0 "docker://$registry/base:1.0"
    local registry_args=()
    local i
    for ((i = 0; i < ${#demo_args[@]}; i++)); do
        case ${demo_args[i]} in
            --base) registry_args+=(--base "$registry/base:1.0" --base-name ''); i=$((i + 1)) ;;
            --output) registry_args+=(--output "$registry/demo:gateway"); i=$((i + 1)) ;;
            *) registry_args+=("${demo_args[i]}") ;;
        esac
    done
    # kiln inside the root, as on a machine with only those packages; /proc mounted as on any
    # Linux system (the Swift runtime reads the arguments from /proc/self/cmdline).
    cat >"$rootfs/demo/run.sh" <<EOF
set -eu
cd /demo
kiln=/opt/$name/bin/kiln
if command -v swift >/dev/null; then echo "swift is on PATH in the root" >&2; exit 1; fi
\$kiln --version >/demo/version.txt
\$kiln $demo >/demo/offline.txt
\$kiln $(printf '%q ' "${registry_args[@]}") >/demo/registry.txt
EOF
    unshare --mount --fork bash -c 'mount -t proc proc "$1/proc" && chroot "$1" /bin/bash /demo/run.sh' _ "$rootfs"
    # Without /proc the runtime sees no arguments: kiln says so instead of acting on none.
    local status=0
    chroot "$rootfs" "/opt/$name/bin/kiln" bake --help >"$work/noproc.out" 2>"$work/noproc.err" || status=$?
    expect "$status" 1 "kiln's exit status without /proc"
    expect "$(cat "$work/noproc.err")" "kiln: error: cannot read the command line: /proc is not mounted" "kiln without /proc"
    [ ! -s "$work/noproc.out" ] || fail "kiln without /proc printed to standard output"
    expect "$(cat "$rootfs/demo/version.txt")" "$version" "kiln --version in the root"
    expect "$(cat "$rootfs/demo/offline.txt")" "oci:/tmp/kiln-demo@$golden" "the README's demo in the root"
    expect "$(cat "$rootfs/demo/registry.txt")" "$registry/demo@$golden" "the registry bake in the root"
    expect "sha256:$(skopeo inspect --raw --tls-verify=false "docker://$registry/demo:gateway" | sha256sum | cut -d' ' -f1)" "$golden" \
        "the pushed manifest"
    echo "kiln $version ran in a Debian 12 minbase root with libarchive13, libssl3, ca-certificates: demo and registry bake gave $golden"
}

check_install_script() {
    local url=http://127.0.0.1:$http_port
    scripts/install.sh --prefix "$work/prefix" "$url/good" "$version"
    expect "$("$work/prefix/bin/kiln" --version)" "$version" "the installed kiln"
    # Run by its link's name, kiln is the Docker CLI subset (inspect: exit 1 for no such image).
    local status=0
    KILN_DOCKER_STORE=$work/docker-store "$work/prefix/bin/kiln-docker" inspect cdkasset-none >/dev/null 2>"$work/inspect.err" || status=$?
    expect "$status" 1 "kiln-docker inspect's exit status for an image it does not have"
    expect "$(cat "$work/inspect.err")" "Error: No such object: cdkasset-none" "kiln-docker inspect's error"
    [ -f "$work/prefix/share/man/man1/kiln.1" ] || fail "no man page installed"
    [ -f "$work/prefix/share/bash-completion/completions/kiln" ] || fail "no bash completion installed"
    local status=0
    scripts/install.sh --prefix "$work/refused" "$url/bad" "$version" 2>"$work/refused.err" || status=$?
    cat "$work/refused.err"
    expect "$status" 1 "install.sh's exit status for a corrupted tarball"
    grep -q 'SHA-256' "$work/refused.err" || fail "the refusal does not name the checksum"
    expect "$(wc -l <"$work/refused.err")" 1 "one error line"
    [ ! -e "$work/refused" ] || fail "a refused install left $work/refused behind"
    # A pinned checksum wins over SHA256SUMS: the good tarball with a wrong pin is refused too.
    status=0
    scripts/install.sh --prefix "$work/pinned" --sha256 "$(printf '0%.0s' {1..64})" "$url/good" "$version" 2>/dev/null || status=$?
    expect "$status" 1 "install.sh's exit status for a wrong --sha256"
    [ ! -e "$work/pinned" ] || fail "a refused install left $work/pinned behind"
    status=0
    scripts/install.sh --prefix "$work/missing" "$url/good" 9.9.9 2>/dev/null || status=$?
    expect "$status" 1 "install.sh's exit status for a version that is not there"
    [ ! -e "$work/missing" ] || fail "a failed install left $work/missing behind"
    echo "installs with the right checksum; a corrupted byte, a wrong --sha256 and a missing version install nothing"
}

check_github_action() {
    python3 - "$root/action.yml" "$work/action" "http://127.0.0.1:$http_port/good" "$version" <<'PY'
import os, re, subprocess, sys, yaml
path, work, url, version = sys.argv[1:]
action = yaml.safe_load(open(path))
assert action["runs"]["using"] == "composite", "not a composite action"
inputs = action["inputs"]
assert inputs["version"]["required"], "version is not a required input"
given = {"version": version, "base-url": url, "sha256": ""}
# What the runner substitutes into a step's env; anything else is an error of the test.
context = {"github.action_repository": "OWNER/kiln"}
os.makedirs(work)
path_file, output_file = f"{work}/path", f"{work}/output"
open(path_file, "w").close(); open(output_file, "w").close()
# A PATH without any kiln: the steps must find the installed one through GITHUB_PATH.
search_path = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
assert not any(os.path.exists(f"{d}/kiln") for d in search_path), "a kiln is already on PATH"
ran = 0
for index, step in enumerate(action["runs"]["steps"]):
    if "run" not in step:
        continue
    assert step.get("shell") == "bash", f"step {index}: shell is not bash"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    declared = step.get("env", {})
    for key, value in declared.items():
        match = re.fullmatch(r"\$\{\{ *(inputs\.[\w-]+|[\w.]+) *\}\}", str(value))
        assert match, f"step {index}: env {key} is not a plain expression: {value}"
        expression = match.group(1)
        if expression.startswith("inputs."):
            input_name = expression[len("inputs."):]
            assert input_name in inputs, f"step {index}: {key} names an undeclared input {input_name}"
            assert key == "INPUT_" + input_name.upper().replace("-", "_"), f"step {index}: {key} holds inputs.{input_name}"
            env[key] = given[input_name]
        else:
            assert expression in context, f"step {index}: unknown expression {expression}"
            env[key] = context[expression]
    for used in set(re.findall(r"\bINPUT_\w+", step["run"])):
        assert used in declared, f"step {index}: uses {used} without declaring it in env"
    env.update(GITHUB_ACTION_PATH=os.path.dirname(path), GITHUB_PATH=path_file, GITHUB_OUTPUT=output_file,
               RUNNER_TEMP=f"{work}/temp", RUNNER_TOOL_CACHE=f"{work}/toolcache",
               PATH=":".join([line.strip() for line in reversed(open(path_file).read().splitlines()) if line.strip()] + search_path))
    os.makedirs(env["RUNNER_TEMP"], exist_ok=True)
    result = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], env=env,
                            capture_output=True, text=True)
    print(f"step {index}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    assert result.returncode == 0, f"step {index} failed"
    ran += 1
    last = result.stdout.strip()
assert ran >= 2, "fewer than two run: steps"
assert last == version, f"the last step printed {last!r}, not the version"
outputs = dict(line.split("=", 1) for line in open(output_file).read().splitlines())
kiln = outputs["path"]
assert kiln.startswith(f"{work}/toolcache/"), f"output path {kiln} is not in the tool cache"
assert subprocess.run([kiln, "--version"], capture_output=True, text=True).stdout.strip() == version
print(f"action installed {kiln}, on PATH for later steps")
PY
}

check_kiln_image() {
    # The base: a look-alike of debian:bookworm-slim, the minbase root as one layer, under its
    # real name on the local registry (the build machines cannot reach Docker Hub).
    local slim
    slim=$(scripts/debian-root.sh bookworm minbase '')
    (
        cd "$work"
        umoci init --layout slim
        umoci new --image slim:bookworm-slim
        umoci unpack --image slim:bookworm-slim bundle >/dev/null
        tar -xf "$slim" -C bundle/rootfs
        umoci repack --image slim:bookworm-slim bundle
        umoci config --image slim:bookworm-slim --os linux --architecture amd64 --config.cmd bash \
            --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
        rm -rf bundle
    )
    skopeo copy --quiet --dest-tls-verify=false oci:"$work/slim:bookworm-slim" "docker://$registry/library/debian:bookworm-slim"
    scripts/stage-kiln-image.sh "$tarball"
    # Baked by the release's own kiln.
    local endpoint=(--registry-endpoint "docker.io=http://$registry")
    "$kiln" lock release/kiln.yaml --lock "$work/kiln.lock" "${endpoint[@]}"
    "$kiln" build release/kiln.yaml --lock "$work/kiln.lock" "${endpoint[@]}" --output "oci:$work/images"
    local podman=(podman --root "$work/podman/root" --runroot "$work/podman/run" --storage-driver vfs --runtime runc)
    local run=("${podman[@]}" run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
    # Into podman's store under a name of our own (a pull from oci:DIR names the image after
    # the directory, which mktemp made mixed-case, and image names are lowercase).
    local image=localhost/kiln-release-check:$version
    skopeo copy --quiet "oci:$work/images/kiln:latest" "containers-storage:[vfs@$work/podman/root+$work/podman/run]$image"
    expect "$("${run[@]}" "$image" --version)" "$version" "kiln --version in the image"
    expect "$("${run[@]}" -v "$root/samples:/demo/samples:ro" -v "$root/overlays:/demo/overlays:ro" -w /demo "$image" "${demo_args[@]}")" \
        "oci:/tmp/kiln-demo@$golden" "the README's demo in the image"
    "${run[@]}" --entrypoint /bin/sh "$image" -c 'test -s /etc/ssl/certs/ca-certificates.crt' || fail "no CA bundle in the image"
    echo "the kiln image ran kiln --version and the demo ($golden) under podman"
}

passed=0
failed=0
run_check() {
    local check=$1
    local log=$work/$check.log
    local started=$SECONDS status=0
    set +e
    (set -euo pipefail; "check_${check//-/_}") >"$log" 2>&1
    status=$?
    set -e
    if [ "$status" -eq 0 ]; then
        echo "ok - $check ($((SECONDS - started)) s): $(tail -1 "$log")"
        passed=$((passed + 1))
    else
        echo "FAIL - $check ($((SECONDS - started)) s):"
        tail -40 "$log" | sed 's/^/    /'
        failed=$((failed + 1))
    fi
}
for check in contents runtime-needs reproducible clean-machine install-script github-action kiln-image; do
    run_check "$check"
done
echo "release-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
