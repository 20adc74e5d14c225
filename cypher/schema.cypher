// Create the constraints and indexes of the device graph; the store runs this at start-up.
// Every statement is IF NOT EXISTS, so running it again changes nothing.
// params: none
CREATE CONSTRAINT device_id IF NOT EXISTS FOR (d:Device) REQUIRE d.id IS UNIQUE;
CREATE CONSTRAINT window_start IF NOT EXISTS FOR (w:Window) REQUIRE w.start IS UNIQUE;
CREATE CONSTRAINT job_id IF NOT EXISTS FOR (j:Job) REQUIRE j.id IS UNIQUE;
CREATE CONSTRAINT ingested_flow_id IF NOT EXISTS FOR (f:IngestedFlow) REQUIRE f.id IS UNIQUE;
CREATE CONSTRAINT worker_id IF NOT EXISTS FOR (k:Worker) REQUIRE k.id IS UNIQUE;
CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:Meta) REQUIRE m.key IS UNIQUE;
CREATE INDEX communicated_window_start IF NOT EXISTS FOR ()-[r:COMMUNICATED]-() ON (r.window_start);
CREATE INDEX device_anomaly_score IF NOT EXISTS FOR (d:Device) ON (d.anomaly_score);
CREATE INDEX window_status IF NOT EXISTS FOR (w:Window) ON (w.status);
CREATE INDEX job_status IF NOT EXISTS FOR (j:Job) ON (j.status, j.requested_at);
CREATE INDEX ingested_flow_window IF NOT EXISTS FOR (f:IngestedFlow) ON (f.window_start);
