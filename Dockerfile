FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
# The operator console (console/dist), served at /.
RUN npm run build
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
EXPOSE 8080
# The signing key and (embedded mode) database live here; mount a volume.
VOLUME ["/var/lib/tollgate"]
ENV TOLLGATE_DATA_DIR=/var/lib/tollgate
CMD ["npm", "start"]
