/* Records of __consumer_offsets.  Input: one flag byte (bit 0: the value is
 * present, else a tombstone), a big-endian 16-bit key length, the key, then
 * the value.  What parses must point inside the key, a commit with a value
 * must carry a non-negative offset, and applying it to a table must leave
 * that commit (or its absence, for a tombstone) visible. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "streamkpi/offsets_topic.h"

static int inside(const char *p, size_t n, const uint8_t *base, size_t size) {
  return n == 0 || (p >= (const char *)base && p + n <= (const char *)base + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if(size < 3)
    return 0;
  int has_value = data[0] & 1;
  size_t klen = (size_t)data[1] << 8 | data[2];
  if(klen > size - 3)
    klen = size - 3;
  const uint8_t *key = data + 3;
  const uint8_t *val = key + klen;
  size_t vlen = size - 3 - klen;
  skpi_offsets_topic_rec r;
  const char *why = NULL;
  if(skpi_offsets_topic_parse(key, klen, has_value ? val : NULL, vlen, &r, &why) != SKPI_OK) {
    if(!why)
      skpi_fuzz_fail("refused without a reason");
    return 0;
  }
  if(r.kind == SKPI_OFFSETS_TOPIC_OTHER)
    return 0;
  if(!inside(r.group, r.group_len, key, klen) || !inside(r.topic, r.topic_len, key, klen))
    skpi_fuzz_fail("name outside the key");
  if(r.kind == SKPI_OFFSETS_TOPIC_COMMIT && !r.tombstone && r.offset < 0)
    skpi_fuzz_fail("negative offset accepted");
  skpi_offsets_topic *t = skpi_offsets_topic_new();
  char *group = malloc(r.group_len + 1);
  if(!t || !group) {
    free(group);
    skpi_offsets_topic_free(t);
    return 0;
  }
  memcpy(group, r.group, r.group_len);
  group[r.group_len] = '\0';
  if(skpi_offsets_topic_apply(t, &r) == SKPI_OK) {
    size_t n;
    const skpi_offsets_topic_entry *e = skpi_offsets_topic_group(t, group, &n);
    int present = r.kind == SKPI_OFFSETS_TOPIC_COMMIT && !r.tombstone;
    if(present != (e != NULL) || (size_t)present != skpi_offsets_topic_size(t))
      skpi_fuzz_fail("table disagrees with the record");
    if(present && (e->offset != r.offset || e->partition != r.partition ||
                   strlen(e->topic) != r.topic_len || memcmp(e->topic, r.topic, r.topic_len)))
      skpi_fuzz_fail("table holds another commit");
  }
  free(group);
  skpi_offsets_topic_free(t);
  return 0;
}
