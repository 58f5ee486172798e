#!/usr/bin/env bash
# Builds one test image as an OCI image layout tarball that
# `ctr -n k8s.io images import FILE` accepts (no registry is reachable on test machines).
#
#   build_oci_image.sh pause   PAUSE_BINARY   IMAGE_NAME OUT.tar
#   build_oci_image.sh busybox BUSYBOX_BINARY IMAGE_NAME OUT.tar
#
# Layout of OUT.tar: oci-layout, index.json (one linux/amd64 manifest annotated with
# io.containerd.image.name = IMAGE_NAME, which containerd's importer uses as the image's
# name, and org.opencontainers.image.ref.name = its tag), blobs/sha256/{layer,config,manifest}.
# The layer is an uncompressed tar. Every tar is built with a fixed order, owner and mtime so
# that the same inputs give the same digests.
set -euo pipefail

usage() {
  echo "usage: $0 pause|busybox BINARY IMAGE_NAME OUT.tar" >&2
  exit 2
}
[[ $# -eq 4 ]] || usage
kind=$1 binary=$2 name=$3 out=$4
[[ -x $binary ]] || { echo "$0: BINARY '$binary' is not an executable file" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/kubenode-image-XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
layout=$work/layout
mkdir -p "$rootfs" "$layout/blobs/sha256"

# The applets integration tests (and later, users' probes) call by name.
busybox_applets=(sh ash sleep cat touch rm cp mv ln mkdir rmdir echo printf httpd nc wget
  kill ls test '[' true false env id ps date grep head tail wc sed awk cut seq hostname
  ping ip ifconfig nslookup stat pwd timeout xargs sha256sum uname whoami)

case $kind in
  pause)
    install -m 0755 "$binary" "$rootfs/pause"
    entrypoint='["/pause"]'
    cmd='null'
    ;;
  busybox)
    mkdir -p "$rootfs"/{bin,etc,tmp,proc,dev,sys,root,var,usr/bin,home}
    chmod 1777 "$rootfs/tmp"
    chmod 0700 "$rootfs/root"
    install -m 0755 "$binary" "$rootfs/bin/busybox"
    for applet in "${busybox_applets[@]}"; do
      ln -s busybox "$rootfs/bin/$applet"
    done
    # Scripts written with "#!/usr/bin/env sh" must work too.
    ln -s ../../bin/busybox "$rootfs/usr/bin/env"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
      'nobody:x:65534:65534:nobody:/home:/bin/false' >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$rootfs/etc/group"
    entrypoint='null'
    cmd='["sh"]'
    ;;
  *) usage ;;
esac

reproducible_tar() {  # reproducible_tar DIR OUT
  tar --create --file "$2" --directory "$1" --sort=name --owner=0 --group=0 \
    --numeric-owner --mtime=@0 --format=gnu .
}

# put_blob FILE -> prints "sha256:<hex> <size>" and stores the blob under its digest.
put_blob() {
  local hex size
  hex=$(sha256sum "$1" | cut -d' ' -f1)
  size=$(stat -c %s "$1")
  mv "$1" "$layout/blobs/sha256/$hex"
  echo "sha256:$hex $size"
}

reproducible_tar "$rootfs" "$work/layer.tar"
read -r layer_digest layer_size < <(put_blob "$work/layer.tar")

cat >"$work/config.json" <<JSON
{"architecture":"amd64","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
  "Entrypoint":$entrypoint,"Cmd":$cmd,"WorkingDir":"/"},
 "rootfs":{"type":"layers","diff_ids":["$layer_digest"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"kubenode images/build_oci_image.sh $kind"}]}
JSON
read -r config_digest config_size < <(put_blob "$work/config.json")

cat >"$work/manifest.json" <<JSON
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$config_digest","size":$config_size},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$layer_digest","size":$layer_size}]}
JSON
read -r manifest_digest manifest_size < <(put_blob "$work/manifest.json")

tag=${name##*:}
cat >"$layout/index.json" <<JSON
{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",
 "digest":"$manifest_digest","size":$manifest_size,
 "platform":{"architecture":"amd64","os":"linux"},
 "annotations":{"io.containerd.image.name":"$name","org.opencontainers.image.ref.name":"$tag"}}]}
JSON
echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"

mkdir -p "$(dirname "$out")"
reproducible_tar "$layout" "$work/image.tar"
mv "$work/image.tar" "$out"
