/* test_shard.c: parsing "i/n", the FNV-1a hash, and the split it makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/shard.h"

static void parse_accepts_valid(void **st) {
  (void)st;
  skpi_shard sh = {0, 0};
  assert_int_equal(skpi_shard_parse("0/1", &sh, NULL, 0), SKPI_OK);
  assert_int_equal(sh.index, 0);
  assert_int_equal(sh.count, 1);
  assert_int_equal(skpi_shard_parse("2/3", &sh, NULL, 0), SKPI_OK);
  assert_int_equal(sh.index, 2);
  assert_int_equal(sh.count, 3);
  assert_int_equal(skpi_shard_parse("1023/1024", &sh, NULL, 0), SKPI_OK);
}

static void parse_refuses_garbage_with_message(void **st) {
  (void)st;
  const char *bad[] = {"",
                       "1",
                       "3/3",
                       "0/0",
                       "-1/3",
                       "1/-3",
                       "a/3",
                       "1/3x",
                       " 1/3",
                       "1/ 3",
                       "0/1025",
                       "1//3",
                       "99999999999999999999/3",
                       "1/3/4"};
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    skpi_shard sh = {7, 9};
    char err[128] = "";
    assert_int_equal(skpi_shard_parse(bad[i], &sh, err, sizeof(err)), SKPI_EINVAL);
    assert_non_null(strstr(err, "expected \"i/n\""));
    assert_int_equal(sh.index, 7);
    assert_int_equal(sh.count, 9);
  }
  assert_int_equal(skpi_shard_parse(NULL, NULL, NULL, 0), SKPI_EINVAL);
}

/* Reference values of 64-bit FNV-1a (from the algorithm's published test
 * vectors): the empty string is the offset basis. */
static void hash_is_fnv1a_64(void **st) {
  (void)st;
  assert_true(skpi_shard_hash("") == 0xcbf29ce484222325ULL);
  assert_true(skpi_shard_hash("a") == 0xaf63dc4c8601ec8cULL);
  assert_true(skpi_shard_hash("foobar") == 0x85944171f73967e8ULL);
}

static void every_name_has_exactly_one_owner(void **st) {
  (void)st;
  char name[32];
  unsigned per[3] = {0, 0, 0};
  for(int i = 0; i < 3000; i++) {
    snprintf(name, sizeof(name), "topic-%d", i);
    int owners = 0;
    for(unsigned s = 0; s < 3; s++) {
      skpi_shard sh = {s, 3};
      if(skpi_shard_owns(&sh, name)) {
        owners++;
        per[s]++;
      }
    }
    assert_int_equal(owners, 1);
  }
  /* A hash that split badly would leave a shard nearly empty. */
  for(int s = 0; s < 3; s++)
    assert_in_range(per[s], 800, 1200);
}

static void unsharded_owns_everything_and_is_first(void **st) {
  (void)st;
  skpi_shard one = {0, 1};
  assert_true(skpi_shard_owns(NULL, "x"));
  assert_true(skpi_shard_owns(&one, "x"));
  assert_true(skpi_shard_is_first(NULL));
  assert_true(skpi_shard_is_first(&one));
  skpi_shard first = {0, 3}, second = {1, 3};
  assert_true(skpi_shard_is_first(&first));
  assert_false(skpi_shard_is_first(&second));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_accepts_valid),
      cmocka_unit_test(parse_refuses_garbage_with_message),
      cmocka_unit_test(hash_is_fnv1a_64),
      cmocka_unit_test(every_name_has_exactly_one_owner),
      cmocka_unit_test(unsharded_owns_everything_and_is_first),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
