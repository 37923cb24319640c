// The one C header Ensemble uses. Only the Kafka module imports it.
#include <librdkafka/rdkafka.h>
