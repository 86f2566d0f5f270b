/* test_sample.c: look-ups and shared rules over a cluster sample. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kpi_test.h"
#include "streamkpi/sample.h"

static skpi_ksample *three_topics_three_groups(void) {
  skpi_ksample *s = ks_new("c1", 1000);
  int audit = ks_topic(s, "audit", 1);
  ks_topic(s, "idle", 1);
  int orders = ks_topic(s, "orders", 2);
  int a = ks_group(s, "app-a", "Stable", 1);
  int dead = ks_group(s, "app-dead", "Dead", 0);
  ks_group(s, "app-z", "Empty", 0);
  ks_commit(s, a, orders, 1, 5);
  ks_commit(s, dead, audit, 0, 1);
  return s;
}

static void groups_found_by_id(void **state) {
  skpi_ksample *s = three_topics_three_groups();
  for(size_t i = 0; i < s->ngroups; i++)
    assert_ptr_equal(skpi_ksample_group(s, s->groups[i].id), &s->groups[i]);
  assert_null(skpi_ksample_group(s, "app-b"));
  assert_null(skpi_ksample_group(s, "zzz"));
  assert_null(skpi_ksample_group(s, NULL));
  assert_null(skpi_ksample_group(NULL, "app-a"));
  assert_ptr_equal(skpi_ksample_topic(s, "orders"), &s->topics[2]);
  assert_null(skpi_ksample_topic(s, "order"));
  ks_free(s);
}

static void internal_topics(void **state) {
  assert_true(skpi_ksample_name_internal("__consumer_offsets"));
  assert_true(skpi_ksample_name_internal("__transaction_state"));
  assert_false(skpi_ksample_name_internal("_schemas"));
  assert_false(skpi_ksample_name_internal("orders__v2"));
  assert_false(skpi_ksample_name_internal(NULL));
  skpi_ktopic t = {.name = "orders"};
  assert_false(skpi_ksample_topic_internal(&t));
  t.internal = 1; /* the source marked it (its own probe topic) */
  assert_true(skpi_ksample_topic_internal(&t));
  t.internal = 0;
  t.name = "__consumer_offsets"; /* named like one, even unmarked */
  assert_true(skpi_ksample_topic_internal(&t));
  t.name = NULL;
  assert_true(skpi_ksample_topic_internal(&t));
}

static void consumed_topics(void **state) {
  skpi_ksample *s = three_topics_three_groups();
  unsigned char *all = skpi_ksample_consumed(s, 0);
  unsigned char *live = skpi_ksample_consumed(s, 1);
  assert_non_null(all);
  assert_non_null(live);
  assert_int_equal(all[0], 1); /* audit: committed by the dead group */
  assert_int_equal(all[1], 0);
  assert_int_equal(all[2], 1);
  assert_int_equal(live[0], 0);
  assert_int_equal(live[2], 1);
  free(all);
  free(live);
  /* A failed group listing says nothing about live consumers. */
  s->groups_ok = 0;
  live = skpi_ksample_consumed(s, 1);
  assert_non_null(live);
  assert_int_equal(live[2], 0);
  free(live);
  ks_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(groups_found_by_id),
      cmocka_unit_test(internal_topics),
      cmocka_unit_test(consumed_topics),
  };
  return cmocka_run_group_tests_name("sample", tests, NULL, NULL);
}
