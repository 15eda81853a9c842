# Sourced by the secret-scan benchmarks: config-like text in the formats people bake, made of
# the clean secrets corpus (Tests/Fixtures/secrets/clean) and the repository's own overlays/
# repeated: realistic keys, many of them secret-named with placeholders, no secret.
#
#   config_text DIR COUNT   writes COUNT files of 100 KB per format into DIR (kong.conf/.env/
#                           INI/TOML as .conf, Spring .properties, YAML, Keycloak realm JSON,
#                           XML); each file differs (its number on the first line), as real
#                           config files do, and holds whole lines only.
config_text() {
  local dir=$1 count=$2 clean=Tests/Fixtures/secrets/clean scratch
  scratch=$(mktemp -d)
  mkdir -p "$dir"
  _config_text_format() { # EXT SOURCE...
    local ext=$1; shift
    cat "$@" > "$scratch/unit.$ext"
    : > "$scratch/page.$ext"
    while [ "$(stat -c %s "$scratch/page.$ext")" -lt 102400 ]; do cat "$scratch/unit.$ext" >> "$scratch/page.$ext"; done
    for i in $(seq 0 $((count - 1))); do
      { echo "# file $i"; head -c 102390 "$scratch/page.$ext" | sed '$d'; } > "$dir/page$i.$ext"
    done
  }
  _config_text_format conf $clean/kong.conf overlays/gateway/kong.conf $clean/app.env $clean/service.ini $clean/config.toml
  _config_text_format properties $clean/application.properties overlays/keycloak/themes/customlogin/login/theme.properties overlays/keycloak/themes/customlogin/login/messages/messages_nl.properties
  _config_text_format yaml $clean/values.yaml overlays/gateway/declarative/kong.yml
  _config_text_format json $clean/realm.json overlays/keycloak/import/um-realm.json
  _config_text_format xml $clean/settings.xml
  rm -rf "$scratch"
}
