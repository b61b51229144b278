// image_records: where microgo keeps images (GridFS bucket "fs").
// Run once by the MongoDB image from /docker-entrypoint-initdb.d, as the
// root user named by MONGO_INITDB_ROOT_USERNAME. The user and password
// must match ACCESS_USR and ACCESS_PWD in .env; change them together.
db = db.getSiblingDB("image_records");
db.createUser({
    user: "accessuser",
    pwd: "microgo-access-pwd",
    roles: [{ role: "readWrite", db: "image_records" }],
});
