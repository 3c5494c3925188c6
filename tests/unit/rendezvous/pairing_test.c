/* The pairing table: roles by ID order, lookups by ID, one pairing per agent pair (a new one
 * replaces the old), the per-agent limit, teardown when an agent leaves. No sockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/common/err.h"
#include "control/rendezvous/pairing.h"
#include "tests/unit/common/check.h"
#include "tests/unit/rendezvous/fixture.h"

#define N 100

static pl_rdv_pairing_member members[N];
static int gone_calls;

static void on_gone(void *arg, const char *id_hex, pl_rdv_pairing_member *other) {
  (void)arg;
  CHECK(strlen(id_hex) == PL_RDV_PAIRING_ID_HEX);
  CHECK(other != NULL);
  gone_calls++;
}

static int is_lower_hex(const char *s) {
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return 0;
  return 1;
}

static void test_member_init(void) {
  pl_rdv_pairing_member m;
  char id[33];
  CHECK(pl_rdv_pairing_member_init(&m, NULL, fixture_id(id, 0xab)) == 0);
  CHECK(m.id_raw[15] == 0xab && m.id_raw[0] == 0);
  CHECK(pl_rdv_pairing_member_init(&m, NULL, "0000000000000000000000000000000A") == PL_ERR_INVALID);
  CHECK(pl_rdv_pairing_member_init(&m, NULL, "00") == PL_ERR_INVALID);
  CHECK(pl_rdv_pairing_member_init(&m, NULL, NULL) == PL_ERR_INVALID);
}

static void test_create_roles_lookup(pl_rdv_pairings *t) {
  pl_rdv_pairing_member *hi = &members[9], *lo = &members[2];
  pl_rdv_pairing *p;
  CHECK(pl_rdv_pairings_create(t, hi, lo, &p) == 0);
  /* The smaller ID controls, whoever asked. */
  CHECK(p->side[0].member == lo && p->side[1].member == hi);
  CHECK(pl_rdv_pairing_side_of(p, lo) == 0 && pl_rdv_pairing_side_of(p, hi) == 1);
  CHECK(pl_rdv_pairing_side_of(p, &members[3]) == -1);
  CHECK(pl_rdv_pairing_side_by_id(p, hi->id_raw) == 1);
  CHECK(pl_rdv_pairing_side_by_id(p, members[3].id_raw) == -1);
  CHECK(strlen(p->id_hex) == PL_RDV_PAIRING_ID_HEX && is_lower_hex(p->id_hex));
  CHECK(pl_rdv_pairings_find(t, p->id) == p);
  CHECK(pl_rdv_pairings_find_hex(t, p->id_hex) == p);
  CHECK(pl_rdv_pairings_between(lo, hi) == p && pl_rdv_pairings_between(hi, lo) == p);
  CHECK(pl_rdv_pairings_between(lo, &members[3]) == NULL);
  CHECK(!p->side[0].bound && !p->side[1].bound);

  char upper[PL_RDV_PAIRING_ID_HEX + 1];
  memcpy(upper, p->id_hex, sizeof upper);
  for (char *c = upper; *c; c++)
    if (*c >= 'a' && *c <= 'f')
      *c = (char)(*c - 'a' + 'A');
  CHECK(strcmp(upper, p->id_hex) == 0 || pl_rdv_pairings_find_hex(t, upper) == NULL);
  CHECK(pl_rdv_pairings_find_hex(t, "0123") == NULL);
  CHECK(pl_rdv_pairings_find_hex(t, "zzzzzzzzzzzzzzzz") == NULL);
  CHECK(pl_rdv_pairings_find_hex(t, NULL) == NULL);

  /* Asking again replaces: fresh ID and secret, old one gone, counts unchanged. */
  uint8_t old_id[PL_FRAME_PAIRING_LEN], old_secret[PL_RDV_PAIRING_SECRET_LEN];
  memcpy(old_id, p->id, sizeof old_id);
  memcpy(old_secret, p->secret, sizeof old_secret);
  pl_rdv_pairing *q;
  CHECK(pl_rdv_pairings_create(t, lo, hi, &q) == 0);
  CHECK(pl_rdv_pairings_find(t, old_id) == NULL);
  CHECK(memcmp(q->id, old_id, sizeof old_id) != 0);
  CHECK(memcmp(q->secret, old_secret, sizeof old_secret) != 0);
  CHECK(t->count == 1 && lo->n_pairings == 1 && hi->n_pairings == 1);
  CHECK(q->side[0].member == lo);

  /* Not with itself, not with another stream of the same agent. */
  CHECK(pl_rdv_pairings_create(t, lo, lo, &p) == PL_ERR_INVALID);
  pl_rdv_pairing_member twin;
  CHECK(pl_rdv_pairing_member_init(&twin, NULL, lo->id) == 0);
  CHECK(pl_rdv_pairings_create(t, lo, &twin, &p) == PL_ERR_INVALID);

  pl_rdv_pairings_delete(t, q);
  CHECK(t->count == 0 && lo->n_pairings == 0 && hi->n_pairings == 0 && lo->pairings == NULL);
}

static void test_limit_and_leave(pl_rdv_pairings *t) {
  pl_rdv_pairing_member *hub = &members[0];
  pl_rdv_pairing *p;
  for (int i = 1; i <= PL_RDV_PAIRING_MAX_PER_AGENT; i++)
    CHECK(pl_rdv_pairings_create(t, hub, &members[i], &p) == 0);
  CHECK(hub->n_pairings == PL_RDV_PAIRING_MAX_PER_AGENT);
  CHECK(pl_rdv_pairings_create(t, &members[50], hub, &p) == PL_ERR_STATE);
  /* Replacing an existing pairing is not a new one. */
  CHECK(pl_rdv_pairings_create(t, hub, &members[5], &p) == 0);
  CHECK(hub->n_pairings == PL_RDV_PAIRING_MAX_PER_AGENT);
  /* Every pairing is reachable from both members' lists. */
  size_t seen = 0;
  for (pl_rdv_pairing *q = hub->pairings; q; q = pl_rdv_pairing_next_of(q, hub))
    seen++;
  CHECK(seen == PL_RDV_PAIRING_MAX_PER_AGENT);
  CHECK(pl_rdv_pairing_next_of(members[5].pairings, &members[5]) == NULL);

  /* A second hub's pairings must survive the first hub leaving. */
  CHECK(pl_rdv_pairings_create(t, &members[1], &members[2], &p) == 0);
  gone_calls = 0;
  pl_rdv_pairings_leave(t, hub, on_gone, NULL);
  CHECK(gone_calls == PL_RDV_PAIRING_MAX_PER_AGENT);
  CHECK(hub->n_pairings == 0 && hub->pairings == NULL);
  CHECK(t->count == 1 && pl_rdv_pairings_find(t, p->id) == p);
  CHECK(members[1].n_pairings == 1 && members[3].n_pairings == 0);
  pl_rdv_pairings_leave(t, &members[1], NULL, NULL);
  CHECK(t->count == 0 && members[2].n_pairings == 0);
}

static void test_growth(pl_rdv_pairings *t) {
  pl_rdv_pairing *ps[N - 1];
  for (int i = 0; i + 1 < N; i++)
    CHECK(pl_rdv_pairings_create(t, &members[i], &members[i + 1], &ps[i]) == 0);
  CHECK(t->count == N - 1 && t->nbuckets >= N - 1);
  for (int i = 0; i + 1 < N; i++)
    CHECK(pl_rdv_pairings_find(t, ps[i]->id) == ps[i]);
  /* Delete from the middle of chains and lists alike. */
  for (int i = 0; i + 1 < N; i += 2)
    pl_rdv_pairings_delete(t, ps[i]);
  for (int i = 1; i + 1 < N; i += 2)
    CHECK(pl_rdv_pairings_find(t, ps[i]->id) == ps[i]);
  for (int i = 0; i < N; i++)
    pl_rdv_pairings_leave(t, &members[i], NULL, NULL);
  CHECK(t->count == 0);
}

/* IDs come from a script, secrets from the fixture: collisions on demand. */
static const uint8_t *id_script;
static size_t id_script_len, id_script_pos;

static int scripted_random(void *buf, size_t len) {
  if (len != PL_FRAME_PAIRING_LEN)
    return fixture_random(buf, len);
  memcpy(buf, id_script + PL_FRAME_PAIRING_LEN * id_script_pos, len);
  if (id_script_pos + 1 < id_script_len)
    id_script_pos++;
  return 0;
}

static void test_random(pl_rdv_pairings *t) {
  pl_rdv_pairing *p, *q;
  /* A failing random source makes no pairing. */
  fixture_fail = 1;
  CHECK(pl_rdv_pairings_create(t, &members[0], &members[1], &p) == PL_ERR_IO);
  fixture_fail = 0;
  CHECK(t->count == 0 && members[0].n_pairings == 0);

  /* A colliding pairing ID is drawn again; one that keeps colliding gives up. */
  static const uint8_t ids[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1};
  pl_rdv_pairings s;
  CHECK(pl_rdv_pairings_init(&s, scripted_random) == 0);
  id_script = ids;
  id_script_len = 4;
  id_script_pos = 0;
  CHECK(pl_rdv_pairings_create(&s, &members[0], &members[1], &p) == 0);
  CHECK(strcmp(p->id_hex, "0101010101010101") == 0);
  CHECK(pl_rdv_pairings_create(&s, &members[2], &members[3], &q) == 0);
  CHECK(strcmp(q->id_hex, "0202020202020202") == 0);
  /* From here on the script only says 01..01, which is taken. */
  CHECK(pl_rdv_pairings_create(&s, &members[4], &members[5], &q) == PL_ERR_STATE);
  CHECK(s.count == 2 && members[4].n_pairings == 0);
  pl_rdv_pairings_free(&s);
  (void)t;
}

int main(void) {
  char id[33];
  for (unsigned i = 0; i < N; i++)
    CHECK(pl_rdv_pairing_member_init(&members[i], NULL, fixture_id(id, 0x100 + i)) == 0);
  pl_rdv_pairings t;
  CHECK(pl_rdv_pairings_init(&t, fixture_random) == 0);
  test_member_init();
  test_create_roles_lookup(&t);
  test_limit_and_leave(&t);
  test_growth(&t);
  test_random(&t);
  pl_rdv_pairings_free(&t);
  printf("pairing_test: ok\n");
  return 0;
}
