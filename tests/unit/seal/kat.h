#ifndef PEERLINK_TESTS_SEAL_KAT_H
#define PEERLINK_TESTS_SEAL_KAT_H

/* The known-answer vector of docs/protocol.md ("End-to-end keys and AEAD"). The expected values
 * were computed independently of wolfSSL (Python's `cryptography`: ECDH, HKDF, AESGCM).
 * Agent A's private scalar is 01 repeated 32 times, B's is 02 repeated; A sends to B. */

/* SEC1 ECPrivateKey DER (with the public key) and SubjectPublicKeyInfo DER. */
#define KAT_A_SEC1                                                                                 \
  "307702010104200101010101010101010101010101010101010101010101010101010101010101a00a06082a8648"   \
  "ce3d030107a144034200046ff03b949241ce1dadd43519e6960e0a85b41a69a05c328103aa2bce1594ca163c4f75"   \
  "3a55bf01dc53f6c0b0c7eee78b40c6ff7d25a96e2282b989cef71c144a"
#define KAT_A_SPKI                                                                                 \
  "3059301306072a8648ce3d020106082a8648ce3d030107034200046ff03b949241ce1dadd43519e6960e0a85b41a"   \
  "69a05c328103aa2bce1594ca163c4f753a55bf01dc53f6c0b0c7eee78b40c6ff7d25a96e2282b989cef71c144a"
#define KAT_B_SEC1                                                                                 \
  "307702010104200202020202020202020202020202020202020202020202020202020202020202a00a06082a8648"   \
  "ce3d030107a14403420004550f471003f3df97c3df506ac797f6721fb1a1fb7b8f6f83d224498a65c88e24136093"   \
  "d7012e509a73715cbd0b00a3cc0ff4b5c01b3ffa196ab1fb327036b8e6"
#define KAT_B_SPKI                                                                                 \
  "3059301306072a8648ce3d020106082a8648ce3d03010703420004550f471003f3df97c3df506ac797f6721fb1a1"   \
  "fb7b8f6f83d224498a65c88e24136093d7012e509a73715cbd0b00a3cc0ff4b5c01b3ffa196ab1fb327036b8e6"
#define KAT_SEC1_LEN 121
#define KAT_SPKI_LEN 91

/* IDs = SHA-256(SPKI)[0:16]. */
#define KAT_ID_A "f857ae4ed6e34e33761aea25caaee3fe"
#define KAT_ID_B "5a07a723c7956830ae2e6be0ef71b399"
#define KAT_PAIRING "0123456789abcdef"
/* The secret is bytes 00 01 .. 1f. */

/* ECDH: the x-coordinate A and B both compute (and the rendezvous cannot). */
#define KAT_Z "eb459a6b30d70eb4c0ddcd34ea96ed59e8f8d1843c22dd895ab603aa13d9a81d"

/* Derived: A → B and B → A keys and IVs. */
#define KAT_KEY_AB "8b073e422de2c42f716f0eb8de144434e0e6c7be65aa518d3112869d500087de"
#define KAT_IV_AB "ef43c9928f7696ef40d18559"
#define KAT_KEY_BA "1cbd68a7491a0e345b2ac97184041ecafeb9bd2caed93c8aa5db60aacf600c3e"
#define KAT_IV_BA "b8b4801ea630e9019c2b13ca"

/* A seals "hello, peer" with seq 0x0102030405060708 and, as associated data, the 34-byte
 * header of a DATA frame (type 22, version 01, pairing, sender A, seq). */
#define KAT_SEQ 0x0102030405060708ull
#define KAT_AAD "22010123456789abcdeff857ae4ed6e34e33761aea25caaee3fe0102030405060708"
#define KAT_AAD_LEN 34
#define KAT_PLAIN "hello, peer"
#define KAT_SEALED "ba528f3dfd2474c94829fdd2d3b88e2670420e818139c30c100df3"
#define KAT_SEALED_LEN 27

#endif
