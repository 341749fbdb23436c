CREATE TABLE devices (
    id bigserial PRIMARY KEY,
    spec jsonb NOT NULL,
    mac macaddr NOT NULL,
    notes jsonb
);
COMMENT ON TABLE devices IS 'Devices on the line.
Second line of the table comment.';
COMMENT ON COLUMN devices.spec IS 'Validated against DeviceSpec.';
