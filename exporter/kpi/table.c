/* table.c: the KPI families, in creation and observation order.  A family
 * may look up only those above it (the SLOs and the data
 * products read time lag and DLQ). */
#include "streamkpi/availability.h"
#include "streamkpi/consumer_status.h"
#include "streamkpi/dlq.h"
#include "streamkpi/incidents.h"
#include "streamkpi/kpi.h"
#include "streamkpi/onboarding.h"
#include "streamkpi/platform.h"
#include "streamkpi/policy.h"
#include "streamkpi/products.h"
#include "streamkpi/replication.h"
#include "streamkpi/slo.h"
#include "streamkpi/stateful.h"
#include "streamkpi/streams.h"
#include "streamkpi/timelag.h"
#include "streamkpi/utilisation.h"

const skpi_kpi_ops *const skpi_kpi_table[] = {
    &skpi_kpi_platform,        &skpi_kpi_estate,      &skpi_kpi_availability,
    &skpi_kpi_incidents,       &skpi_kpi_timelag,     &skpi_kpi_policy,
    &skpi_kpi_dlq,             &skpi_kpi_onboarding,  &skpi_kpi_streams,
    &skpi_kpi_slo,             &skpi_kpi_consumer_status, &skpi_kpi_stateful,
    &skpi_kpi_utilisation,     &skpi_kpi_connect_tasks,   &skpi_kpi_replication,
    &skpi_kpi_products,
};
const size_t skpi_kpi_table_len = sizeof(skpi_kpi_table) / sizeof(skpi_kpi_table[0]);
