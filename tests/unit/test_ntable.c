/* test_ntable.c: the sorted name-keyed table with its sweep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/ntable.h"

typedef struct item {
  skpi_nentry h;
  int value;
  char *owned; /* freed by the drop callback */
} item;

typedef struct drops {
  int n;
  char last[32];
} drops;

static void drop_item(void *e, void *user) {
  item *it = e;
  drops *d = user;
  d->n++;
  snprintf(d->last, sizeof(d->last), "%s", it->h.name);
  free(it->owned);
}

static item *add(skpi_ntable *t, const char *name, double seen) {
  void *e;
  assert_int_equal(skpi_ntable_add(t, name, &e), SKPI_OK);
  item *it = e;
  assert_string_equal(it->h.name, name);
  assert_int_equal(it->value, 0);
  it->h.last_seen = seen;
  it->owned = strdup(name);
  return it;
}

static void names_in_order(const skpi_ntable *t, const char *const *want, size_t n) {
  assert_int_equal(skpi_ntable_len(t), n);
  for(size_t i = 0; i < n; i++)
    assert_string_equal(((item *)skpi_ntable_at(t, i))->h.name, want[i]);
  assert_null(skpi_ntable_at(t, n));
}

static void added_entries_are_found_before_and_after_the_sort(void **state) {
  drops d = {0};
  skpi_ntable t;
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  assert_null(skpi_ntable_find(&t, "x"));
  add(&t, "orders", 1)->value = 1;
  add(&t, "audit", 1)->value = 2;
  add(&t, "payments", 1)->value = 3;
  /* Not sorted yet: found through the index. */
  assert_int_equal(((item *)skpi_ntable_find(&t, "audit"))->value, 2);
  skpi_ntable_sort(&t);
  const char *want[] = {"audit", "orders", "payments"};
  names_in_order(&t, want, 3);
  assert_int_equal(((item *)skpi_ntable_find(&t, "payments"))->value, 3);
  /* Sorted and unsorted entries together. */
  add(&t, "billing", 2)->value = 4;
  assert_int_equal(((item *)skpi_ntable_find(&t, "orders"))->value, 1);
  assert_int_equal(((item *)skpi_ntable_find(&t, "billing"))->value, 4);
  assert_null(skpi_ntable_find(&t, "nope"));
  assert_null(skpi_ntable_find(&t, NULL));
  skpi_ntable_clear(&t);
  assert_int_equal(d.n, 4);
  assert_int_equal(skpi_ntable_len(&t), 0);
  assert_null(skpi_ntable_find(&t, "orders"));
}

static void duplicates_and_null_names_refused(void **state) {
  drops d = {0};
  skpi_ntable t;
  void *e;
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  add(&t, "a", 0);
  assert_int_equal(skpi_ntable_add(&t, "a", &e), SKPI_EINVAL); /* unsorted twin */
  assert_null(e);
  skpi_ntable_sort(&t);
  assert_int_equal(skpi_ntable_add(&t, "a", &e), SKPI_EINVAL); /* sorted twin */
  assert_int_equal(skpi_ntable_add(&t, NULL, &e), SKPI_EINVAL);
  assert_int_equal(skpi_ntable_len(&t), 1);
  skpi_ntable_clear(&t);
  assert_int_equal(d.n, 1);
}

static void sweep_drops_entries_not_seen_since(void **state) {
  drops d = {0};
  skpi_ntable t;
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  add(&t, "c", 100);
  add(&t, "a", 40);
  add(&t, "b", 89.5);
  add(&t, "d", 90);
  /* Older than 10 s at 100: a (60 s) and b (10.5 s); d is exactly 10 s. */
  assert_int_equal(skpi_ntable_sweep(&t, 100, 10), 2);
  assert_int_equal(d.n, 2);
  const char *want[] = {"c", "d"};
  names_in_order(&t, want, 2);
  assert_null(skpi_ntable_find(&t, "a"));
  assert_non_null(skpi_ntable_find(&t, "d"));
  /* A sweep with nothing to drop changes nothing. */
  assert_int_equal(skpi_ntable_sweep(&t, 100, 10), 0);
  names_in_order(&t, want, 2);
  skpi_ntable_clear(&t);
}

static void sweep_by_cycle_mark(void **state) {
  drops d = {0};
  skpi_ntable t;
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  /* Cycle 1 sees x, y, z; cycle 2 marks only y and adds w. */
  add(&t, "x", 1);
  add(&t, "y", 1);
  add(&t, "z", 1);
  assert_int_equal(skpi_ntable_sweep(&t, 1, 0), 0);
  ((item *)skpi_ntable_find(&t, "y"))->h.last_seen = 2;
  add(&t, "w", 2);
  assert_int_equal(skpi_ntable_sweep(&t, 2, 0), 2);
  const char *want[] = {"w", "y"};
  names_in_order(&t, want, 2);
  skpi_ntable_clear(&t);
  assert_int_equal(d.n, 4);
}

static void remove_keeps_order(void **state) {
  drops d = {0};
  skpi_ntable t;
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  add(&t, "m", 0);
  add(&t, "k", 0);
  add(&t, "z", 0);
  assert_int_equal(skpi_ntable_remove(&t, "m"), 1);
  assert_string_equal(d.last, "m");
  assert_int_equal(skpi_ntable_remove(&t, "m"), 0);
  const char *want[] = {"k", "z"};
  names_in_order(&t, want, 2);
  assert_int_equal(skpi_ntable_remove(&t, "k"), 1);
  assert_int_equal(skpi_ntable_remove(&t, "z"), 1);
  assert_int_equal(skpi_ntable_len(&t), 0);
  skpi_ntable_clear(&t);
  assert_int_equal(d.n, 3);
}

/* Many additions in a scrambled order, looked up before and after the sort
 * and across several growths of the array and of the index. */
static void many_entries(void **state) {
  enum { N = 5000 };
  drops d = {0};
  skpi_ntable t;
  char name[32];
  skpi_ntable_init(&t, sizeof(item), drop_item, &d);
  for(int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "t%05d", (i * 7919) % N);
    add(&t, name, i)->value = (i * 7919) % N;
    if(i % 1000 == 999)
      skpi_ntable_sort(&t);
  }
  for(int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "t%05d", i);
    item *it = skpi_ntable_find(&t, name);
    assert_non_null(it);
    assert_int_equal(it->value, i);
  }
  skpi_ntable_sort(&t);
  for(int i = 0; i < N; i++) {
    snprintf(name, sizeof(name), "t%05d", i);
    assert_string_equal(((item *)skpi_ntable_at(&t, (size_t)i))->h.name, name);
  }
  skpi_ntable_clear(&t);
  assert_int_equal(d.n, N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(added_entries_are_found_before_and_after_the_sort),
      cmocka_unit_test(duplicates_and_null_names_refused),
      cmocka_unit_test(sweep_drops_entries_not_seen_since),
      cmocka_unit_test(sweep_by_cycle_mark),
      cmocka_unit_test(remove_keeps_order),
      cmocka_unit_test(many_entries),
  };
  return cmocka_run_group_tests_name("ntable", tests, NULL, NULL);
}
