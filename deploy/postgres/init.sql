-- One database and one role per service; each service owns only its own schema.
-- Run once by the official postgres image on an empty data volume.
CREATE ROLE orchestrator LOGIN PASSWORD 'orchestrator';
CREATE DATABASE orchestrator OWNER orchestrator;
CREATE ROLE aggregator LOGIN PASSWORD 'aggregator';
CREATE DATABASE aggregator OWNER aggregator;
CREATE ROLE payment LOGIN PASSWORD 'payment';
CREATE DATABASE payment OWNER payment;
CREATE ROLE inventory LOGIN PASSWORD 'inventory';
CREATE DATABASE inventory OWNER inventory;
CREATE ROLE shipping LOGIN PASSWORD 'shipping';
CREATE DATABASE shipping OWNER shipping;
CREATE ROLE profile LOGIN PASSWORD 'profile';
CREATE DATABASE profile OWNER profile;
