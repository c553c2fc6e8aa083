// The subset of the OTLP protobuf schema that test/support/otlp-receiver.ts
// needs to decode ExportTraceServiceRequest and ExportMetricsServiceRequest.
//
// Source: open-telemetry/opentelemetry-proto, tag v1.5.0, Apache-2.0
// (https://github.com/open-telemetry/opentelemetry-proto), files
// opentelemetry/proto/{common,resource,trace,metrics}/v1/*.proto and
// opentelemetry/proto/collector/{trace,metrics}/v1/*_service.proto.
// Comments, options, services, response messages and fields the receiver
// never reads (exemplars, flags, dropped counts, schema urls, metadata) are
// left out; protobuf skips unknown fields, so omitting a field is harmless.
// Names and field numbers of everything kept are exactly as upstream; do
// not renumber.
import protobuf from 'protobufjs'

// One string per upstream package: a .proto source may declare only one
// package, so each is parsed into the same Root and cross-package type
// references are written fully qualified, as upstream does.
const sources: string[] = [
  `syntax = "proto3";
package opentelemetry.proto.common.v1;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}`,

  `syntax = "proto3";
package opentelemetry.proto.resource.v1;

message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}`,

  `syntax = "proto3";
package opentelemetry.proto.trace.v1;

message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  enum SpanKind {
    SPAN_KIND_UNSPECIFIED = 0;
    SPAN_KIND_INTERNAL = 1;
    SPAN_KIND_SERVER = 2;
    SPAN_KIND_CLIENT = 3;
    SPAN_KIND_PRODUCER = 4;
    SPAN_KIND_CONSUMER = 5;
  }
  SpanKind kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
  }
  repeated Event events = 11;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 4;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  Status status = 15;
}
message Status {
  string message = 2;
  enum StatusCode {
    STATUS_CODE_UNSET = 0;
    STATUS_CODE_OK = 1;
    STATUS_CODE_ERROR = 2;
  }
  StatusCode code = 3;
}`,

  `syntax = "proto3";
package opentelemetry.proto.metrics.v1;

message ResourceMetrics {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeMetrics scope_metrics = 2;
  string schema_url = 3;
}
message ScopeMetrics {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Metric metrics = 2;
  string schema_url = 3;
}
message Metric {
  string name = 1;
  string description = 2;
  string unit = 3;
  oneof data {
    Gauge gauge = 5;
    Sum sum = 7;
    Histogram histogram = 9;
    ExponentialHistogram exponential_histogram = 10;
    Summary summary = 11;
  }
}
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum {
  repeated NumberDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
  bool is_monotonic = 3;
}
message Histogram {
  repeated HistogramDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
}
message ExponentialHistogram {
  repeated ExponentialHistogramDataPoint data_points = 1;
  AggregationTemporality aggregation_temporality = 2;
}
message Summary { repeated SummaryDataPoint data_points = 1; }
enum AggregationTemporality {
  AGGREGATION_TEMPORALITY_UNSPECIFIED = 0;
  AGGREGATION_TEMPORALITY_DELTA = 1;
  AGGREGATION_TEMPORALITY_CUMULATIVE = 2;
}
message NumberDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  oneof value {
    double as_double = 4;
    sfixed64 as_int = 6;
  }
  uint32 flags = 8;
}
message HistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  repeated fixed64 bucket_counts = 6;
  repeated double explicit_bounds = 7;
  uint32 flags = 10;
  optional double min = 11;
  optional double max = 12;
}
message ExponentialHistogramDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  optional double sum = 5;
  sint32 scale = 6;
  fixed64 zero_count = 7;
  message Buckets {
    sint32 offset = 1;
    repeated uint64 bucket_counts = 2;
  }
  Buckets positive = 8;
  Buckets negative = 9;
  uint32 flags = 10;
  optional double min = 12;
  optional double max = 13;
  double zero_threshold = 14;
}
message SummaryDataPoint {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 7;
  fixed64 start_time_unix_nano = 2;
  fixed64 time_unix_nano = 3;
  fixed64 count = 4;
  double sum = 5;
  message ValueAtQuantile {
    double quantile = 1;
    double value = 2;
  }
  repeated ValueAtQuantile quantile_values = 6;
  uint32 flags = 8;
}`,

  `syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;

message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}`,

  `syntax = "proto3";
package opentelemetry.proto.collector.metrics.v1;

message ExportMetricsServiceRequest {
  repeated opentelemetry.proto.metrics.v1.ResourceMetrics resource_metrics = 1;
}`,
]

const root = new protobuf.Root()
for (const source of sources) protobuf.parse(source, root)
root.resolveAll()

const traceRequestType = root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest')
const metricsRequestType = root.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest')

// The interfaces below describe what `toObject` produces with the options in
// `decode`, which is also (by design of OTLP/JSON) the shape of an OTLP/JSON
// body, so the receiver converts both with the same code. The differences
// between the two encodings are folded into these unions:
/** 64-bit integers: decimal strings from protobuf (`longs: String`); string or number in OTLP/JSON. */
export type Int64 = string | number
/** bytes: Uint8Array from protobuf; hex (trace/span ids) or base64 (AnyValue) strings in OTLP/JSON. */
export type Bytes = Uint8Array | string

export interface PbAnyValue {
  stringValue?: string
  boolValue?: boolean
  intValue?: Int64
  doubleValue?: number
  arrayValue?: { values?: PbAnyValue[] }
  kvlistValue?: { values?: PbKeyValue[] }
  bytesValue?: Bytes
}
export interface PbKeyValue { key?: string; value?: PbAnyValue }
export interface PbScope { name?: string; version?: string; attributes?: PbKeyValue[] }
export interface PbResource { attributes?: PbKeyValue[] }

export interface PbSpan {
  traceId?: Bytes
  spanId?: Bytes
  parentSpanId?: Bytes
  name?: string
  kind?: number
  startTimeUnixNano?: Int64
  endTimeUnixNano?: Int64
  attributes?: PbKeyValue[]
  events?: { timeUnixNano?: Int64; name?: string; attributes?: PbKeyValue[] }[]
  links?: { traceId?: Bytes; spanId?: Bytes; attributes?: PbKeyValue[] }[]
  status?: { message?: string; code?: number }
}
export interface PbTraceRequest {
  resourceSpans?: { resource?: PbResource; scopeSpans?: { scope?: PbScope; spans?: PbSpan[] }[] }[]
}

/** Union of the fields of all data point kinds; each kind fills its own subset. */
export interface PbDataPoint {
  attributes?: PbKeyValue[]
  startTimeUnixNano?: Int64
  timeUnixNano?: Int64
  asDouble?: number
  asInt?: Int64
  count?: Int64
  sum?: number
  bucketCounts?: Int64[]
  explicitBounds?: number[]
  min?: number
  max?: number
}
interface PbPoints { dataPoints?: PbDataPoint[]; aggregationTemporality?: number; isMonotonic?: boolean }
export interface PbMetric {
  name?: string
  description?: string
  unit?: string
  gauge?: PbPoints
  sum?: PbPoints
  histogram?: PbPoints
  exponentialHistogram?: PbPoints
  summary?: PbPoints
}
export interface PbMetricsRequest {
  resourceMetrics?: { resource?: PbResource; scopeMetrics?: { scope?: PbScope; metrics?: PbMetric[] }[] }[]
}

// longs: String keeps fixed64 nanosecond timestamps exact (a JS number would
// round them to ~256 ns); bytes stay Uint8Array and enums stay numbers, as in
// OTLP/JSON.
const conversion: protobuf.IConversionOptions = { longs: String }

export function decodeTraceRequest(body: Uint8Array): PbTraceRequest {
  return traceRequestType.toObject(traceRequestType.decode(body), conversion) as PbTraceRequest
}

export function decodeMetricsRequest(body: Uint8Array): PbMetricsRequest {
  return metricsRequestType.toObject(metricsRequestType.decode(body), conversion) as PbMetricsRequest
}
