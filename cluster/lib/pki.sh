# Certificates and kubeconfigs of the local cluster, made once in $PKI. Source it.
# shellcheck shell=bash

new_ca() { # NAME SUBJECT
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.crt" -days 3650 -sha256 \
    -subj "$2" 2>/dev/null
}

# sign CA NAME SUBJECT EXTENSIONS: a key and a certificate for NAME signed by CA. The certificate
# is written last, so a present .crt means a complete pair.
sign() {
  local ca="$1" name="$2" subject="$3" extensions="$4"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 3650 -sha256 \
    -extfile <(printf '%s\n' "$extensions") -out "$name.crt.partial" 2>/dev/null
  mv "$name.crt.partial" "$name.crt"
  rm -f "$name.csr"
}

CLIENT_EXTENSIONS='keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth'

# client_cert NAME SUBJECT: a client certificate signed by the cluster CA, unless there is one.
# Certificates added after a cluster's first start (the real node's) come this way, so an
# existing cluster's CA and state stay valid.
client_cert() {
  [[ -s "$PKI/$1.crt" ]] && return 0
  (cd "$PKI" && umask 077 && sign ca "$1" "$2" "$CLIENT_EXTENSIONS")
}

# write_kubeconfig FILE USER CERT_NAME [SERVER [TLS_SERVER_NAME]]: a kubeconfig with embedded
# credentials; the server defaults to the API server on 127.0.0.1.
write_kubeconfig() {
  local file="$1" user="$2" cert="$3" server="${4:-https://127.0.0.1:$API_PORT}" server_name="${5:-}"
  local k=(kubectl config --kubeconfig="$file")
  "${k[@]}" set-cluster "$CONTEXT" --server="$server" \
    --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  [[ -z "$server_name" ]] || "${k[@]}" set-cluster "$CONTEXT" --tls-server-name="$server_name" >/dev/null
  "${k[@]}" set-credentials "$user" --client-certificate="$PKI/$cert.crt" \
    --client-key="$PKI/$cert.key" --embed-certs=true >/dev/null
  "${k[@]}" set-context "$CONTEXT" --cluster="$CONTEXT" --user="$user" >/dev/null
  "${k[@]}" use-context "$CONTEXT" >/dev/null
  chmod 600 "$file"
}

# Made once, at the first start: a CA, the apiserver's serving cert, a client cert per identity,
# the front-proxy (request-header) CA and client, the service-account signing key pair, and the
# kubeconfigs that use them.
ensure_pki() {
  [[ -f "$PKI/.complete" ]] && return 0
  log "creating certificates and kubeconfigs in $PKI"
  rm -rf "$PKI" "$KUBECONFIG_FILE"
  mkdir -p "$PKI"
  (
    cd "$PKI" || exit
    umask 077
    new_ca ca "/CN=$CONTEXT-ca"
    # 10.96.0.1 is the "kubernetes" Service's address, which in-cluster clients use.
    sign ca apiserver "/CN=kube-apiserver" "$(printf '%s\n' \
      'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' \
      'subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local')"
    sign ca admin "/O=system:masters/CN=$CONTEXT-admin" "$CLIENT_EXTENSIONS"
    sign ca kube-controller-manager "/CN=system:kube-controller-manager" "$CLIENT_EXTENSIONS"
    sign ca kube-scheduler "/CN=system:kube-scheduler" "$CLIENT_EXTENSIONS"
    # The apiserver publishes the request-header CA for delegated authentication; without one the
    # controller-manager and scheduler log an error about it every few seconds, forever.
    new_ca front-proxy-ca "/CN=$CONTEXT-front-proxy-ca"
    sign front-proxy-ca front-proxy-client "/CN=front-proxy-client" "$CLIENT_EXTENSIONS"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  )
  write_kubeconfig "$KUBECONFIG_FILE" "$CONTEXT-admin" admin
  write_kubeconfig "$PKI/kube-controller-manager.kubeconfig" system:kube-controller-manager kube-controller-manager
  write_kubeconfig "$PKI/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler
  touch "$PKI/.complete"
}
