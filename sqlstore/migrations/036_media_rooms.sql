-- Which media node holds each conference room in use, so that members
-- arriving through any signalling node join the same mix. A claim lapses
-- at expires (Unix milliseconds) unless the calls in the room renew it.
CREATE TABLE media_rooms (
    room    TEXT   PRIMARY KEY,
    node    TEXT   NOT NULL,
    expires BIGINT NOT NULL
);
