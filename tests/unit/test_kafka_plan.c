/* test_kafka_plan.c: grouping partitions by leader and chunking them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "streamkpi/kafka_plan.h"

static void groups_by_leader_stably(void **state) {
  /* Leaders interleaved; within a leader the input order must survive. */
  skpi_plan_item in[] = {
      {0, 0, 3}, {0, 1, 1}, {0, 2, 3}, {1, 0, 1}, {1, 1, 2}, {1, 2, 3}, {2, 0, 1},
  };
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 7, 100, &p), SKPI_OK);
  assert_int_equal(p.nitems, 7);
  int32_t want[][3] = {{0, 1, 1}, {1, 0, 1}, {2, 0, 1}, {1, 1, 2},
                       {0, 0, 3}, {0, 2, 3}, {1, 2, 3}};
  for(size_t i = 0; i < 7; i++) {
    assert_int_equal(p.items[i].topic, want[i][0]);
    assert_int_equal(p.items[i].partition, want[i][1]);
    assert_int_equal(p.items[i].leader, want[i][2]);
  }
  assert_int_equal(p.nchunks, 3);
  assert_int_equal(p.chunks[0].leader, 1);
  assert_int_equal(p.chunks[0].first, 0);
  assert_int_equal(p.chunks[0].count, 3);
  assert_int_equal(p.chunks[1].leader, 2);
  assert_int_equal(p.chunks[1].first, 3);
  assert_int_equal(p.chunks[1].count, 1);
  assert_int_equal(p.chunks[2].leader, 3);
  assert_int_equal(p.chunks[2].first, 4);
  assert_int_equal(p.chunks[2].count, 3);
  skpi_plan_free(&p);
}

static void chunks_split_at_size(void **state) {
  skpi_plan_item in[12];
  for(int i = 0; i < 12; i++) {
    in[i].topic = 0;
    in[i].partition = i;
    in[i].leader = i < 7 ? 5 : 9; /* 7 on leader 5, 5 on leader 9 */
  }
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 12, 3, &p), SKPI_OK);
  /* leader 5: 3+3+1, leader 9: 3+2 */
  assert_int_equal(p.nchunks, 5);
  size_t counts[] = {3, 3, 1, 3, 2};
  int32_t leaders[] = {5, 5, 5, 9, 9};
  size_t next = 0;
  for(size_t c = 0; c < p.nchunks; c++) {
    assert_int_equal(p.chunks[c].count, counts[c]);
    assert_int_equal(p.chunks[c].leader, leaders[c]);
    assert_int_equal(p.chunks[c].first, next);
    for(size_t i = 0; i < p.chunks[c].count; i++)
      assert_int_equal(p.items[p.chunks[c].first + i].leader, leaders[c]);
    next += p.chunks[c].count;
  }
  assert_int_equal(next, p.nitems);
  skpi_plan_free(&p);
}

static void leaderless_excluded(void **state) {
  skpi_plan_item in[] = {{0, 0, -1}, {0, 1, 2}, {0, 2, -1}, {0, 3, 2}};
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 4, 10, &p), SKPI_OK);
  assert_int_equal(p.nitems, 2);
  assert_int_equal(p.items[0].partition, 1);
  assert_int_equal(p.items[1].partition, 3);
  assert_int_equal(p.nchunks, 1);
  skpi_plan_free(&p);

  skpi_plan_item none[] = {{0, 0, -1}, {1, 0, -1}};
  assert_int_equal(skpi_plan_build(none, 2, 10, &p), SKPI_OK);
  assert_int_equal(p.nitems, 0);
  assert_int_equal(p.nchunks, 0);
  skpi_plan_free(&p);
}

static void zero_items(void **state) {
  skpi_plan p;
  assert_int_equal(skpi_plan_build(NULL, 0, 10, &p), SKPI_OK);
  assert_int_equal(p.nitems, 0);
  assert_int_equal(p.nchunks, 0);
  assert_null(p.items);
  assert_null(p.chunks);
  skpi_plan_free(&p);
  skpi_plan_free(&p); /* freeing twice is harmless */
}

static void chunk_size_one(void **state) {
  skpi_plan_item in[] = {{0, 0, 1}, {0, 1, 1}, {0, 2, 0}};
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 3, 1, &p), SKPI_OK);
  assert_int_equal(p.nchunks, 3);
  for(size_t c = 0; c < 3; c++) {
    assert_int_equal(p.chunks[c].count, 1);
    assert_int_equal(p.chunks[c].first, c);
  }
  assert_int_equal(p.chunks[0].leader, 0);
  assert_int_equal(p.items[0].partition, 2);
  skpi_plan_free(&p);
}

static void huge_chunk_size_does_not_wrap(void **state) {
  skpi_plan_item in[] = {{0, 0, 1}, {0, 1, 1}, {0, 2, 2}};
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 3, (size_t)-1, &p), SKPI_OK);
  assert_int_equal(p.nchunks, 2);
  assert_int_equal(p.chunks[0].count, 2);
  assert_int_equal(p.chunks[1].count, 1);
  skpi_plan_free(&p);
}

static void bad_arguments(void **state) {
  skpi_plan_item in[] = {{0, 0, 1}};
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 1, 0, &p), SKPI_EINVAL);
  assert_int_equal(p.nitems, 0);
  assert_int_equal(skpi_plan_build(NULL, 3, 10, &p), SKPI_EINVAL);
  assert_int_equal(skpi_plan_build(in, 1, 1, NULL), SKPI_EINVAL);
}

static void input_is_copied(void **state) {
  skpi_plan_item in[] = {{4, 7, 1}};
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, 1, 5, &p), SKPI_OK);
  in[0].partition = 99;
  assert_int_equal(p.items[0].partition, 7);
  assert_int_equal(p.items[0].topic, 4);
  skpi_plan_free(&p);
}

/* More leaders than the plan's first guess (16), met in descending and
 * scattered order: every leader's items come out together, leaders
 * ascending, input order kept, and exactly the chunks needed. */
static void many_leaders_grouped_stably(void **state) {
  enum { N = 3000, LEADERS = 40, CHUNK = 7 };
  skpi_plan_item *in = calloc(N, sizeof(*in));
  assert_non_null(in);
  size_t per[LEADERS] = {0};
  for(int i = 0; i < N; i++) {
    in[i] = (skpi_plan_item){i, i % 11, (int32_t)(LEADERS - 1 - (i * 7) % LEADERS) * 3};
    per[(i * 7) % LEADERS]++;
  }
  size_t want_chunks = 0;
  for(int l = 0; l < LEADERS; l++)
    want_chunks += (per[l] + CHUNK - 1) / CHUNK;
  skpi_plan p;
  assert_int_equal(skpi_plan_build(in, N, CHUNK, &p), SKPI_OK);
  assert_int_equal(p.nitems, N);
  for(size_t i = 1; i < p.nitems; i++) {
    assert_true(p.items[i - 1].leader <= p.items[i].leader);
    if(p.items[i - 1].leader == p.items[i].leader)
      assert_true(p.items[i - 1].topic < p.items[i].topic);
  }
  assert_int_equal(p.nchunks, want_chunks);
  size_t covered = 0;
  for(size_t c = 0; c < p.nchunks; c++) {
    assert_int_equal(p.chunks[c].first, covered);
    assert_true(p.chunks[c].count >= 1 && p.chunks[c].count <= CHUNK);
    for(size_t i = 0; i < p.chunks[c].count; i++)
      assert_int_equal(p.items[p.chunks[c].first + i].leader, p.chunks[c].leader);
    covered += p.chunks[c].count;
  }
  assert_int_equal(covered, N);
  skpi_plan_free(&p);
  free(in);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(groups_by_leader_stably),
      cmocka_unit_test(chunks_split_at_size),
      cmocka_unit_test(leaderless_excluded),
      cmocka_unit_test(zero_items),
      cmocka_unit_test(chunk_size_one),
      cmocka_unit_test(huge_chunk_size_does_not_wrap),
      cmocka_unit_test(bad_arguments),
      cmocka_unit_test(input_is_copied),
      cmocka_unit_test(many_leaders_grouped_stably),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
