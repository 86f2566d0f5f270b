/* test_assess.c: criteria table, configuration checks, scoring, gaps and
 * pitfalls of the maturity assessment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "assess_test.h"

static const skpi_assess_result *res(const skpi_assessment *a, const char *id) {
  const skpi_assess_result *r = skpi_assess_find(a, id);
  assert_non_null(r);
  return r;
}

static void criteria_table_is_consistent(void **state) {
  size_t n;
  const skpi_criterion *c = skpi_assess_criteria(&n);
  int per_dim[SKPI_DIM_COUNT] = {0}, stages[SKPI_ASSESS_MAX_STAGE + 1] = {0};
  assert_true(n >= 40);
  for(size_t i = 0; i < n; i++) {
    assert_true(strspn(c[i].id, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(c[i].id));
    for(size_t k = 0; k < i; k++)
      assert_string_not_equal(c[i].id, c[k].id);
    assert_true(c[i].level >= 1 && c[i].level <= 5);
    assert_true(c[i].title[0] && c[i].step[0] && c[i].how[0] && c[i].fact[0]);
    assert_true(strcmp(c[i].unit, "count") == 0 || strcmp(c[i].unit, "ratio") == 0 ||
                strcmp(c[i].unit, "seconds") == 0 || strcmp(c[i].unit, "bool") == 0 ||
                strcmp(c[i].unit, "score") == 0);
    assert_ptr_equal(skpi_assess_criterion(c[i].id), &c[i]);
    if(c[i].model == SKPI_ASSESS_LEVELS)
      per_dim[c[i].dim]++;
    else
      stages[c[i].level]++;
  }
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    assert_true(per_dim[d] >= 3);
  for(int s = 1; s <= SKPI_ASSESS_MAX_STAGE; s++)
    assert_true(stages[s] >= 1);
  /* Every survey item is asked for by some criterion. */
  for(const char *const *it = skpi_assess_survey_items(); *it; it++) {
    int used = 0;
    for(size_t i = 0; i < n; i++)
      used |= strncmp(c[i].fact, "survey.", 7) == 0 && strcmp(c[i].fact + 7, *it) == 0;
    assert_true(used);
  }
  assert_null(skpi_assess_criterion("no_such_thing"));
}

static void validate_refuses_unknown_ids_and_items(void **state) {
  skpi_assess_cfg_error err;
  skpi_assess_threshold thr[] = {{"l2_tech_streams", 5, 3}, {"l9_nothing", 1, 7}};
  skpi_assess_cfg cfg = {.thresholds = thr, .nthresholds = 1};
  assert_int_equal(skpi_assess_validate(&cfg, &err), SKPI_OK);
  cfg.nthresholds = 2;
  assert_int_equal(skpi_assess_validate(&cfg, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 7);
  assert_string_equal(err.key, "maturity.thresholds");
  assert_non_null(strstr(err.msg, "l9_nothing"));

  skpi_assess_threshold ratio[] = {{"l3_gov_schemas", 1.5, 4}};
  skpi_assess_cfg cfg2 = {.thresholds = ratio, .nthresholds = 1};
  assert_int_equal(skpi_assess_validate(&cfg2, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 4);

  skpi_assess_toggle tog[] = {{"l3_gov_policy", 0, 11}, {"bogus", 1, 12}};
  skpi_assess_cfg cfg3 = {.toggles = tog, .ntoggles = 2};
  assert_int_equal(skpi_assess_validate(&cfg3, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 12);
  assert_string_equal(err.key, "maturity.criteria");

  skpi_assess_answer ans[] = {{"training", 3, AT_NOW, 20}, {"juggling", 3, AT_NOW, 21}};
  skpi_assess_cfg cfg4 = {.survey = ans, .nsurvey = 2};
  assert_int_equal(skpi_assess_validate(&cfg4, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 21);
  assert_string_equal(err.key, "maturity.survey");
  assert_non_null(strstr(err.msg, "juggling"));
  skpi_assess_answer bad_score[] = {{"training", 6, AT_NOW, 30}};
  skpi_assess_cfg cfg5 = {.survey = bad_score, .nsurvey = 1};
  assert_int_equal(skpi_assess_validate(&cfg5, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 30);
  skpi_assess_answer no_date[] = {{"on_call", 2, 0, 31}};
  skpi_assess_cfg cfg6 = {.survey = no_date, .nsurvey = 1};
  assert_int_equal(skpi_assess_validate(&cfg6, &err), SKPI_EINVAL);
  assert_int_equal(err.line, 31);
  skpi_assess_cfg cfg7 = {.survey_max_age_s = -1};
  assert_int_equal(skpi_assess_validate(&cfg7, &err), SKPI_EINVAL);
  assert_string_equal(err.key, "maturity.survey_max_age");
  assert_int_equal(skpi_assess_validate(NULL, NULL), SKPI_EINVAL);
}

static void no_facts_everything_unknown(void **state) {
  skpi_assessment *a = at_run(NULL, NULL);
  assert_int_equal(a->level, SKPI_ASSESS_UNKNOWN);
  assert_int_equal(a->stage, SKPI_ASSESS_UNKNOWN);
  for(int d = 0; d < SKPI_DIM_COUNT; d++)
    assert_int_equal(a->dims[d].level, SKPI_ASSESS_UNKNOWN);
  for(size_t i = 0; i < a->nresults; i++) {
    assert_int_equal(a->results[i].status, SKPI_ST_UNKNOWN);
    assert_true(isnan(a->results[i].value));
    assert_non_null(a->results[i].reason);
  }
  /* Every unknown dimension still lists what to do first. */
  assert_true(a->ngaps[SKPI_DIM_TECHNOLOGY] > 0);
  assert_true(isnan(a->gaps[SKPI_DIM_TECHNOLOGY][0].distance));
  skpi_assess_free(a);
}

static void platform_scores(void **state) {
  skpi_facts *f = at_platform();
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].level, 2);
  assert_int_equal(a->dims[SKPI_DIM_GOVERNANCE].level, 2);
  assert_int_equal(a->dims[SKPI_DIM_OPERATIONS].level, 2);
  assert_int_equal(a->dims[SKPI_DIM_BUSINESS_VALUE].level, 2);
  assert_int_equal(a->dims[SKPI_DIM_SKILLS].level, SKPI_ASSESS_UNKNOWN);
  assert_int_equal(a->level, 2);
  assert_int_equal(a->stage, 2);
  const skpi_assess_result *r = res(a, "l3_ops_availability");
  assert_int_equal(r->status, SKPI_ST_UNMET);
  assert_float_equal(r->value, 0.995, 1e-12);
  assert_float_equal(r->threshold, 0.999, 1e-12);
  assert_string_equal(r->cluster, "prod");
  assert_int_equal(r->prov, SKPI_PROV_OBSERVED);
  assert_float_equal(r->as_of, AT_NOW - 60, 0);
  r = res(a, "l3_gov_policy");
  assert_int_equal(r->status, SKPI_ST_UNKNOWN);
  assert_non_null(strstr(r->reason, "policy"));
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].observed,
                   a->dims[SKPI_DIM_TECHNOLOGY].met + a->dims[SKPI_DIM_TECHNOLOGY].unmet);
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].declared, 0);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void dimension_without_evidence_is_left_out(void **state) {
  skpi_facts *f = skpi_facts_new();
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, "prod", 1, "bool");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", 4, "count");
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].level, 2);
  assert_int_equal(a->dims[SKPI_DIM_OPERATIONS].level, SKPI_ASSESS_UNKNOWN);
  assert_int_equal(a->dims[SKPI_DIM_GOVERNANCE].level, SKPI_ASSESS_UNKNOWN);
  /* The overall level is not dragged to 0 by the dimensions nobody measured. */
  assert_int_equal(a->level, 2);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void overall_zero_when_a_dimension_misses_level_one(void **state) {
  skpi_facts *f = at_platform();
  at_put(f, SKPI_FACT_PROBE_RUNNING, "prod", 0, "bool");
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(a->dims[SKPI_DIM_OPERATIONS].level, 0);
  assert_int_equal(a->level, 0);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void declared_only_dimension(void **state) {
  skpi_assess_answer ans[] = {{"training", 3, AT_NOW - 10 * AT_DAY, 1},
                              {"community_of_practice", 4, AT_NOW - 10 * AT_DAY, 2},
                              {"on_call", 3, AT_NOW - 10 * AT_DAY, 3}};
  skpi_assess_cfg cfg = {.survey = ans, .nsurvey = 3};
  skpi_assessment *a = at_run(&cfg, NULL);
  assert_int_equal(a->dims[SKPI_DIM_SKILLS].level, 3);
  assert_int_equal(a->dims[SKPI_DIM_SKILLS].observed, 0);
  assert_true(a->dims[SKPI_DIM_SKILLS].declared > 0);
  assert_int_equal(a->level, 3); /* the only dimension with evidence */
  const skpi_assess_result *r = res(a, "l3_skills_training");
  assert_int_equal(r->status, SKPI_ST_MET);
  assert_int_equal(r->prov, SKPI_PROV_DECLARED);
  assert_float_equal(r->as_of, AT_NOW - 10 * AT_DAY, 0);
  assert_int_equal(res(a, "l4_skills_community")->status, SKPI_ST_MET);
  assert_int_equal(res(a, "l4_skills_on_call")->status, SKPI_ST_UNMET);
  skpi_assess_free(a);
}

static void survey_answers_from_the_facts_set(void **state) {
  skpi_facts *f = skpi_facts_new();
  skpi_fact x = {"survey.training", NULL, 5, "score", SKPI_PROV_DECLARED, AT_NOW - AT_DAY, NULL};
  assert_int_equal(skpi_facts_put(f, &x), SKPI_OK);
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(res(a, "l5_skills_training")->status, SKPI_ST_MET);
  assert_int_equal(res(a, "l5_skills_training")->prov, SKPI_PROV_DECLARED);
  skpi_assess_free(a);
  /* An answer in the configuration wins over the set's. */
  skpi_assess_answer ans[] = {{"training", 2, AT_NOW - AT_DAY, 1}};
  skpi_assess_cfg cfg = {.survey = ans, .nsurvey = 1};
  a = at_run(&cfg, f);
  assert_int_equal(res(a, "l5_skills_training")->status, SKPI_ST_UNMET);
  assert_float_equal(res(a, "l5_skills_training")->value, 2, 0);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void met_higher_level_above_unmet_lower_does_not_count(void **state) {
  skpi_facts *f = skpi_facts_new();
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, "prod", 1, "bool");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", 2, "count"); /* level 2 wants 3 */
  at_put(f, SKPI_FACT_BROKERS, "prod", 5, "count");
  at_put(f, SKPI_FACT_DURABLE_TOPICS, "prod", 1, "ratio");
  at_put(f, SKPI_FACT_CONNECTORS_RUNNING, NULL, 3, "count");
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(res(a, "l3_tech_brokers")->status, SKPI_ST_MET);
  assert_int_equal(res(a, "l3_tech_durable")->status, SKPI_ST_MET);
  assert_int_equal(res(a, "l3_tech_connectors")->status, SKPI_ST_MET);
  assert_int_equal(res(a, "l2_tech_streams")->status, SKPI_ST_UNMET);
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].level, 1);
  assert_int_equal(a->ngaps[SKPI_DIM_TECHNOLOGY], 1);
  assert_string_equal(a->results[a->gaps[SKPI_DIM_TECHNOLOGY][0].crit].c->id, "l2_tech_streams");
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void threshold_override_and_disabled_criteria(void **state) {
  skpi_facts *f = at_platform();
  skpi_assess_threshold thr[] = {{"l3_tech_brokers", 2, 1}, {"l3_tech_durable", 0.8, 2}};
  skpi_assess_cfg cfg = {.thresholds = thr, .nthresholds = 2};
  skpi_assessment *a = at_run(&cfg, f);
  assert_float_equal(res(a, "l3_tech_brokers")->threshold, 2, 0);
  assert_int_equal(res(a, "l3_tech_brokers")->status, SKPI_ST_MET);
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].level, 3);
  skpi_assess_free(a);

  /* Disabling the two failing level-3 operations criteria lifts operations
   * to 3; the disabled rows are evaluated but not counted. */
  skpi_assess_toggle tog[] = {{"l3_ops_availability", 0, 1}, {"l3_ops_self_service", 0, 2}};
  skpi_assess_cfg cfg2 = {.toggles = tog, .ntoggles = 2};
  a = at_run(&cfg2, f);
  assert_int_equal(res(a, "l3_ops_availability")->enabled, 0);
  assert_int_equal(res(a, "l3_ops_availability")->status, SKPI_ST_UNMET);
  assert_int_equal(a->dims[SKPI_DIM_OPERATIONS].level, 3);
  for(size_t g = 0; g < a->ngaps[SKPI_DIM_OPERATIONS]; g++)
    assert_true(a->results[a->gaps[SKPI_DIM_OPERATIONS][g].crit].enabled);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void stale_survey_answers_count_as_unknown(void **state) {
  skpi_assess_answer ans[] = {{"training", 4, AT_NOW - 200 * AT_DAY, 1},
                              {"community_of_practice", 4, AT_NOW - 5 * AT_DAY, 2},
                              {"on_call", 4, AT_NOW - 5 * AT_DAY, 3}};
  skpi_assess_cfg cfg = {.survey = ans, .nsurvey = 3};
  skpi_assessment *a = at_run(&cfg, NULL);
  const skpi_assess_result *r = res(a, "l2_skills_training");
  assert_int_equal(r->status, SKPI_ST_UNKNOWN);
  assert_int_equal(r->stale, 1);
  assert_int_equal(r->prov, SKPI_PROV_DECLARED);
  assert_float_equal(r->as_of, AT_NOW - 200 * AT_DAY, 0);
  assert_non_null(strstr(r->reason, "older than 180 days"));
  assert_int_equal(a->dims[SKPI_DIM_SKILLS].level, 1); /* level 2 training unknown */
  skpi_assess_free(a);
  cfg.survey_max_age_s = 365 * AT_DAY;
  a = at_run(&cfg, NULL);
  assert_int_equal(res(a, "l2_skills_training")->status, SKPI_ST_MET);
  assert_int_equal(a->dims[SKPI_DIM_SKILLS].level, 4);
  skpi_assess_free(a);
}

static void production_clusters_decide(void **state) {
  skpi_facts *f = skpi_facts_new();
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", 5, "count");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "dev", 1, "count");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod2", 4, "count");
  skpi_assess_cluster cl[] = {{"prod", 1}, {"dev", 0}, {"prod2", 1}};
  skpi_assess_cfg cfg = {.clusters = cl, .nclusters = 3};
  /* A failing non-production cluster does not fail the estate; the
   * evidence is the worst production cluster. */
  skpi_assessment *a = at_run(&cfg, f);
  const skpi_assess_result *r = res(a, "l2_tech_streams");
  assert_int_equal(r->status, SKPI_ST_MET);
  assert_float_equal(r->value, 4, 0);
  assert_string_equal(r->cluster, "prod2");
  assert_int_equal(r->nper, 3);
  assert_int_equal(r->per[1].status, SKPI_ST_UNMET);
  assert_int_equal(r->per[1].production, 0);
  skpi_assess_free(a);
  /* One failing production cluster fails the estate. */
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod2", 2, "count");
  a = at_run(&cfg, f);
  r = res(a, "l2_tech_streams");
  assert_int_equal(r->status, SKPI_ST_UNMET);
  assert_float_equal(r->value, 2, 0);
  assert_string_equal(r->cluster, "prod2");
  skpi_assess_free(a);
  /* No cluster marked production: every cluster counts, dev fails it. */
  skpi_assess_cluster none[] = {{"prod", 0}, {"dev", 0}};
  skpi_assess_cfg cfg2 = {.clusters = none, .nclusters = 2};
  a = at_run(&cfg2, f);
  r = res(a, "l2_tech_streams");
  assert_int_equal(r->status, SKPI_ST_UNMET);
  assert_string_equal(r->cluster, "dev");
  assert_int_equal(res(a, "l1_tech_streams")->status, SKPI_ST_MET);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void unknown_is_never_met(void **state) {
  skpi_facts *f = skpi_facts_new();
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, "a", 1, "bool");
  at_put(f, SKPI_FACT_CLUSTER_REACHABLE, "b", 1, "bool");
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "a", 9, "count");
  assert_int_equal(
      skpi_facts_unknown(f, SKPI_FACT_ACTIVE_STREAMS, "b", "count", "groups could not be listed"),
      SKPI_OK);
  at_put(f, SKPI_FACT_STATEFUL_APPS, "a", 0, "count");
  assert_int_equal(skpi_facts_unknown(f, SKPI_FACT_MTTR, NULL, "seconds", "no incident yet"),
                   SKPI_OK);
  skpi_assessment *a = at_run(NULL, f);
  /* Met on a, unknown on b: the estate is unknown, not met. */
  const skpi_assess_result *r = res(a, "l1_tech_streams");
  assert_int_equal(r->status, SKPI_ST_UNKNOWN);
  assert_true(isnan(r->value));
  assert_non_null(strstr(r->reason, "groups could not be listed"));
  assert_non_null(strstr(r->reason, "Cluster b"));
  assert_int_equal(a->dims[SKPI_DIM_TECHNOLOGY].level, 0);
  /* Any-cluster scope: unmet on a, unknown on b stays unknown. */
  assert_int_equal(res(a, "l4_tech_stateful")->status, SKPI_ST_UNKNOWN);
  r = res(a, "l4_ops_mttr");
  assert_int_equal(r->status, SKPI_ST_UNKNOWN);
  assert_non_null(strstr(r->reason, "no incident yet"));
  assert_non_null(strstr(r->reason, r->c->how));
  skpi_assess_free(a);
  /* A known zero is a known value: unmet, evidence 0. */
  at_put(f, SKPI_FACT_STATEFUL_APPS, "b", 0, "count");
  a = at_run(NULL, f);
  assert_int_equal(res(a, "l4_tech_stateful")->status, SKPI_ST_UNMET);
  assert_float_equal(res(a, "l4_tech_stateful")->value, 0, 0);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void any_cluster_scope_takes_the_best(void **state) {
  skpi_facts *f = skpi_facts_new();
  at_put(f, SKPI_FACT_STATEFUL_APPS, "a", 0, "count");
  at_put(f, SKPI_FACT_STATEFUL_APPS, "b", 2, "count");
  skpi_assessment *a = at_run(NULL, f);
  const skpi_assess_result *r = res(a, "l4_tech_stateful");
  assert_int_equal(r->status, SKPI_ST_MET);
  assert_float_equal(r->value, 2, 0);
  assert_string_equal(r->cluster, "b");
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void gaps_closest_first_unknown_last(void **state) {
  skpi_facts *f = at_platform();
  skpi_assessment *a = at_run(NULL, f);
  /* Technology at 2: level 3 lacks durable topics (0.85 of 0.9) and
   * brokers (2 of 3); connectors are met and not listed. */
  assert_int_equal(a->ngaps[SKPI_DIM_TECHNOLOGY], 2);
  const skpi_assess_gap *g = a->gaps[SKPI_DIM_TECHNOLOGY];
  assert_string_equal(a->results[g[0].crit].c->id, "l3_tech_durable");
  assert_float_equal(g[0].distance, 0.05 / 0.9, 1e-9);
  assert_string_equal(a->results[g[1].crit].c->id, "l3_tech_brokers");
  assert_float_equal(g[1].distance, 1.0 / 3, 1e-9);
  /* Governance at 2: schemas measured (closer than unknown), policy
   * unknown last. */
  g = a->gaps[SKPI_DIM_GOVERNANCE];
  assert_int_equal(a->ngaps[SKPI_DIM_GOVERNANCE], 2);
  assert_string_equal(a->results[g[0].crit].c->id, "l3_gov_schemas");
  assert_string_equal(a->results[g[1].crit].c->id, "l3_gov_policy");
  assert_true(isnan(g[1].distance));
  /* Operations: availability 0.995/0.999 is closer than onboarding 3 d/1 d. */
  g = a->gaps[SKPI_DIM_OPERATIONS];
  assert_int_equal(a->ngaps[SKPI_DIM_OPERATIONS], 2);
  assert_string_equal(a->results[g[0].crit].c->id, "l3_ops_availability");
  assert_string_equal(a->results[g[1].crit].c->id, "l3_ops_self_service");
  assert_float_equal(g[1].distance, 2, 1e-9);
  /* Skills unknown: the level-2 answers are what to give first. */
  assert_int_equal(a->ngaps[SKPI_DIM_SKILLS], 3);
  assert_int_equal(a->results[a->gaps[SKPI_DIM_SKILLS][0].crit].c->level, 2);
  /* The stage gaps: stage 3. */
  assert_true(a->nstage_gaps >= 1);
  assert_int_equal(a->results[a->stage_gaps[0].crit].c->level, 3);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static const skpi_assess_pitfall *pit(const skpi_assessment *a, const char *id) {
  for(size_t i = 0; i < a->npitfalls; i++)
    if(strcmp(a->pitfalls[i].id, id) == 0)
      return &a->pitfalls[i];
  fail_msg("no pitfall %s", id);
  return NULL;
}

static void pitfalls_with_evidence(void **state) {
  skpi_facts *f = at_platform();
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(pit(a, "no_schema_management")->state, SKPI_PF_DETECTED);
  assert_non_null(strstr(pit(a, "no_schema_management")->evidence, "30%"));
  assert_int_equal(pit(a, "no_disaster_recovery")->state, SKPI_PF_DETECTED);
  assert_int_equal(pit(a, "siloed_clusters")->state, SKPI_PF_CLEAR);
  assert_int_equal(pit(a, "inconsistent_naming")->state, SKPI_PF_CLEAR);
  assert_int_equal(pit(a, "slow_self_service")->state, SKPI_PF_DETECTED);
  assert_non_null(strstr(pit(a, "slow_self_service")->evidence, "3 d"));
  assert_int_equal(pit(a, "insufficient_alerting")->state, SKPI_PF_CLEAR);
  assert_int_equal(pit(a, "unclear_product_boundaries")->state, SKPI_PF_UNCHECKED);
  skpi_assess_free(a);

  at_put(f, SKPI_FACT_CLUSTERS, NULL, 3, "count");
  at_put(f, SKPI_FACT_REPLICATION_FLOWS, NULL, 0, "count");
  at_put(f, SKPI_FACT_NAMING_RATIO, "prod", 0.2, "ratio");
  at_put(f, SKPI_FACT_SLOS_DEFINED, NULL, 0, "count");
  at_put(f, SKPI_FACT_PRODUCTS, NULL, 4, "count");
  at_put(f, SKPI_FACT_UNOWNED_TOPICS, NULL, 2, "count");
  a = at_run(NULL, f);
  assert_int_equal(pit(a, "siloed_clusters")->state, SKPI_PF_DETECTED);
  assert_non_null(strstr(pit(a, "siloed_clusters")->evidence, "3 clusters"));
  assert_int_equal(pit(a, "inconsistent_naming")->state, SKPI_PF_DETECTED);
  assert_int_equal(pit(a, "insufficient_alerting")->state, SKPI_PF_DETECTED);
  assert_int_equal(pit(a, "unclear_product_boundaries")->state, SKPI_PF_DETECTED);
  assert_non_null(strstr(pit(a, "unclear_product_boundaries")->evidence, "2 active"));
  skpi_assess_free(a);

  a = at_run(NULL, NULL);
  for(size_t i = 0; i < a->npitfalls; i++)
    assert_int_equal(a->pitfalls[i].state, SKPI_PF_UNCHECKED);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void stages_follow_their_rows(void **state) {
  skpi_facts *f = at_platform();
  at_put(f, SKPI_FACT_AVAILABILITY, "prod", 0.9999, "ratio");
  at_put(f, SKPI_FACT_DURABLE_TOPICS, "prod", 0.95, "ratio");
  skpi_assessment *a = at_run(NULL, f);
  assert_int_equal(a->stage, 3);
  skpi_assess_free(a);
  at_put(f, SKPI_FACT_CLUSTERS, NULL, 2, "count");
  at_put(f, SKPI_FACT_REPLICATION_FLOWS, NULL, 1, "count");
  a = at_run(NULL, f);
  assert_int_equal(a->stage, 4); /* stage 5 needs the teams' share, unknown */
  assert_int_equal(res(a, "s5_teams")->status, SKPI_ST_UNKNOWN);
  skpi_assess_free(a);
  at_put(f, SKPI_FACT_ACTIVE_STREAMS, "prod", 0, "count");
  a = at_run(NULL, f);
  assert_int_equal(a->stage, 0);
  skpi_assess_free(a);
  skpi_facts_free(f);
}

static void format_values_for_humans(void **state) {
  char s[64];
  skpi_assess_format_value(0.9995, "ratio", s, sizeof(s));
  assert_string_equal(s, "99.95%");
  skpi_assess_format_value(NAN, "ratio", s, sizeof(s));
  assert_string_equal(s, "unknown");
  skpi_assess_format_value(0.25, "seconds", s, sizeof(s));
  assert_string_equal(s, "250 ms");
  skpi_assess_format_value(3 * AT_DAY, "seconds", s, sizeof(s));
  assert_string_equal(s, "3 d");
  skpi_assess_format_value(3600, "seconds", s, sizeof(s));
  assert_string_equal(s, "60 min");
  skpi_assess_format_value(4, "score", s, sizeof(s));
  assert_string_equal(s, "4/5");
  skpi_assess_format_value(0, "bool", s, sizeof(s));
  assert_string_equal(s, "no");
  assert_string_equal(skpi_assess_level_name(2), "departmental");
  assert_string_equal(skpi_assess_level_name(-1), "unknown");
  assert_string_equal(skpi_assess_stage_name(0), "pre-streaming");
}

static char doc_path[600] = "docs/assessment.md";

static void every_criterion_is_documented(void **state) {
  FILE *fp = fopen(doc_path, "r");
  if(!fp)
    fail_msg("cannot open %s", doc_path);
  static char doc[1 << 17];
  size_t len = fread(doc, 1, sizeof(doc) - 1, fp);
  fclose(fp);
  doc[len] = '\0';
  size_t n;
  const skpi_criterion *c = skpi_assess_criteria(&n);
  for(size_t i = 0; i < n; i++) {
    char row[96];
    snprintf(row, sizeof(row), "| `%s` |", c[i].id);
    if(!strstr(doc, row))
      fail_msg("%s has no row for %s", doc_path, c[i].id);
  }
}

int main(int argc, char **argv) {
  at_repo_path(argc > 0 ? argv[0] : NULL, "docs/assessment.md", doc_path, sizeof(doc_path));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(criteria_table_is_consistent),
      cmocka_unit_test(validate_refuses_unknown_ids_and_items),
      cmocka_unit_test(no_facts_everything_unknown),
      cmocka_unit_test(platform_scores),
      cmocka_unit_test(dimension_without_evidence_is_left_out),
      cmocka_unit_test(overall_zero_when_a_dimension_misses_level_one),
      cmocka_unit_test(declared_only_dimension),
      cmocka_unit_test(survey_answers_from_the_facts_set),
      cmocka_unit_test(met_higher_level_above_unmet_lower_does_not_count),
      cmocka_unit_test(threshold_override_and_disabled_criteria),
      cmocka_unit_test(stale_survey_answers_count_as_unknown),
      cmocka_unit_test(production_clusters_decide),
      cmocka_unit_test(unknown_is_never_met),
      cmocka_unit_test(any_cluster_scope_takes_the_best),
      cmocka_unit_test(gaps_closest_first_unknown_last),
      cmocka_unit_test(pitfalls_with_evidence),
      cmocka_unit_test(stages_follow_their_rows),
      cmocka_unit_test(format_values_for_humans),
      cmocka_unit_test(every_criterion_is_documented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
