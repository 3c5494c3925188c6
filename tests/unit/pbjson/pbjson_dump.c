/* Test helper for the cross-check: each stdin line "<full message name> <flags> <hex>" is
 * unpacked and printed as one line of JSON (or "ERROR <rv>"). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/hex.h"
#include "control/common/pbjson.h"
#include "pbjson_test.pb-c.h"
#include "pbjson_test2.pb-c.h"
#include "peerlink/v1/agent.pb-c.h"
#include "peerlink/v1/rendezvous.pb-c.h"

static const ProtobufCMessageDescriptor *const types[] = {
    &pbjsontest__everything__descriptor,
    &pbjsontest__proto2__descriptor,
    &peerlink__v1__get_status_response__descriptor,
    &peerlink__v1__list_peers_response__descriptor,
    &peerlink__v1__watch_events_response__descriptor,
    &peerlink__v1__connect_request__descriptor,
    &peerlink__v1__benchmark_response__descriptor,
    &peerlink__v1__register_request__descriptor,
    &peerlink__v1__register_response__descriptor,
};

int main(void) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    char name[256], *hex;
    int flags, used;
    if (sscanf(line, "%255s %d %n", name, &flags, &used) != 2)
      return 2;
    hex = line + used;
    size_t hl = strcspn(hex, "\r\n"), len = hl / 2;
    uint8_t *buf = malloc(len + 1);
    hex[hl] = '\0';
    if (buf == NULL || pl_hex_decode(buf, len, hex) != 0)
      return 5;
    const ProtobufCMessageDescriptor *d = NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
      if (!strcmp(types[i]->name, name))
        d = types[i];
    if (!d)
      return 3;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    if (!m)
      return 4;
    char *json;
    int rv = pl_pbjson_encode(m, flags, &json);
    /* a record separator line: JSON text never holds a raw newline inside a string */
    if (rv)
      printf("ERROR %d\n\x1e\n", rv);
    else
      printf("%s\n\x1e\n", json);
    free(json);
    protobuf_c_message_free_unpacked(m, NULL);
    free(buf);
  }
  free(line);
  return 0;
}
